/**
 * What an AWS SDK call's failure means, in one place: its error code, its HTTP status, whether it is throttling,
 * and whether it is transient (the next attempt may succeed) or a configuration error (IAM, a missing resource,
 * a bad parameter: a human must act). Each caller wraps its SDK calls once with `wrapAwsCall`, in its own named
 * error, so the rest of its code sees only those.
 */

/** Throttling, under each service's name for it. */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
]);

/** Codes that mean "the stack is set up wrong": retrying cannot help. */
const CONFIGURATION_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthFailure',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'OptInRequired',
  'ResourceNotFoundException',
  'ValidationException',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
  'InvalidRouteTableID.Malformed',
  'InvalidInstanceID.Malformed',
]);

/**
 * Codes that mean "try again later", or "the world moved between reading and writing" (EC2 is eventually
 * consistent: an instance or route just made may not be found yet, one just removed may still be).
 */
const TRANSIENT_CODES = new Set([
  ...THROTTLING_CODES,
  'ServiceUnavailable',
  'Unavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'RouteAlreadyExists',
  'InvalidRoute.NotFound',
  'InvalidRouteTableID.NotFound',
  'InvalidInstanceID.NotFound',
  'IncorrectInstanceState',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

/** The service's error code (`Code`, else Node's `code` for network errors, else the error's name). */
export function awsErrorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const { name, code, Code } = error as { name?: unknown; code?: unknown; Code?: unknown };
  for (const candidate of [Code, code, name]) {
    if (typeof candidate === 'string' && candidate !== 'Error') return candidate;
  }
  return 'UnknownError';
}

/** The HTTP status of the service's answer; undefined when there was none (network, timeout, not an SDK error). */
export function awsHttpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function isThrottling(error: unknown): boolean {
  return THROTTLING_CODES.has(awsErrorCode(error)) || awsHttpStatus(error) === 429;
}

type AwsErrorKind = 'transient' | 'configuration';

/**
 * Known codes first; then an unrecognised 4xx counts as a configuration error (loud), anything else
 * unrecognised (5xx, no answer at all: network) as transient.
 */
export function awsErrorKind(error: unknown): AwsErrorKind {
  const code = awsErrorCode(error);
  if (CONFIGURATION_CODES.has(code)) return 'configuration';
  if (TRANSIENT_CODES.has(code) || awsHttpStatus(error) === 429) return 'transient';
  const status = awsHttpStatus(error);
  return status !== undefined && status >= 400 && status < 500 ? 'configuration' : 'transient';
}

/** One failed SDK call, described. */
export interface AwsFailure {
  code: string;
  kind: AwsErrorKind;
  cause: unknown;
}

/** Runs one SDK call and rethrows its failure as the caller's own named error. */
export async function wrapAwsCall<T>(
  call: () => Promise<T>,
  toError: (failure: AwsFailure) => unknown,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toError({ code: awsErrorCode(error), kind: awsErrorKind(error), cause: error });
  }
}
