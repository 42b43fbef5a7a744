import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * Structured JSON logs (one object per line, as CloudWatch Logs Insights reads them).
 * Anything that looks like a credential is redacted wherever it appears in a log object.
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

export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination: DestinationStream = pino.destination({ dest: 1, sync: false }),
): Logger {
  return pino(
    {
      name,
      level,
      base: { service: 'cloudy', component: name },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
