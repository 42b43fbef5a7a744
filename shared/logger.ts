import { AsyncLocalStorage } from 'node:async_hooks';
import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * Structured JSON logs (one object per line, as CloudWatch Logs Insights reads them).
 * Anything that looks like a credential is redacted wherever it appears in a log object.
 *
 * In Lambda the lines are written synchronously: the environment is frozen as soon as the handler's promise
 * settles, and lines still in an asynchronous buffer would be written late or lost (pino's own advice for Lambda).
 * Every line logged during an invocation carries the fields Powertools for AWS Lambda puts on its lines
 * (function_request_id, cold_start, function_name, xray_trace_id), so the same Logs Insights queries work.
 */
const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'connectionString',
  '*.connectionString',
  'DATABASE_URL',
  '*.DATABASE_URL',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** The invocation's fields, as Powertools names them. */
export interface InvocationFields {
  function_request_id: string;
  cold_start: boolean;
  function_name: string;
  xray_trace_id?: string;
}

const invocation = new AsyncLocalStorage<InvocationFields>();
let coldStart = true;

/** The part of Lambda's context object the logs use. */
export interface LambdaContextLike {
  awsRequestId: string;
  functionName: string;
}

/**
 * Wraps a Lambda handler so that every line logged while it runs (in any logger of this module) carries the
 * invocation's fields; cold_start is true for the first invocation of the environment only.
 */
export function withInvocationLogging<E, C extends LambdaContextLike, R>(
  handler: (event: E, context: C) => Promise<R>,
): (event: E, context: C) => Promise<R> {
  return (event, context) => {
    const traceRoot = /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID ?? '')?.[1];
    const fields: InvocationFields = {
      function_request_id: context.awsRequestId,
      cold_start: coldStart,
      function_name: context.functionName,
      ...(traceRoot ? { xray_trace_id: traceRoot } : {}),
    };
    coldStart = false;
    return invocation.run(fields, () => handler(event, context));
  };
}

/** Lambda sets AWS_LAMBDA_FUNCTION_NAME in every function's environment. */
const inLambda = () => Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);

export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination: DestinationStream = pino.destination({ dest: 1, sync: inLambda() }),
): Logger {
  return pino(
    {
      name,
      level,
      base: { service: 'cloudy', component: name },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: () => invocation.getStore() ?? {},
    },
    destination,
  );
}

export type { Logger };
