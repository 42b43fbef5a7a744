/**
 * The controller keeps three kinds of outcome apart:
 * - configuration errors (bad env, missing permission, missing table): fail loudly, a human must act;
 * - transient errors (throttling, 5xx, network, the world changed under us): log, the next run retries;
 * - observed state (no healthy candidate, unknown state): not an error at all, it is part of the decision.
 * Each AWS call is wrapped once, so the rest of the code sees only these named errors.
 */

/** The controller's own configuration (env or event) is invalid; detected before any AWS call. */
export class FailoverConfigError extends Error {
  override readonly name = 'FailoverConfigError';
}

/** AWS refused the call because of how the stack is set up (IAM, missing table, bad parameter). */
export class AwsConfigurationError extends Error {
  override readonly name = 'AwsConfigurationError';
  constructor(
    readonly operation: string,
    readonly code: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed with ${code}: the stack's configuration or permissions are wrong`, options);
  }
}

/** AWS failed in a way that the next run may not see (throttling, 5xx, network, a race with another writer). */
export class AwsTransientError extends Error {
  override readonly name = 'AwsTransientError';
  constructor(
    readonly operation: string,
    readonly code: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed with ${code}; the next run retries`, options);
  }
}

/** After a route change, re-reading the route did not show the expected target. */
export class RouteVerificationError extends Error {
  override readonly name = 'RouteVerificationError';
}

/** Too little Lambda time is left to start another AWS call safely. */
export class DeadlineReachedError extends Error {
  override readonly name = 'DeadlineReachedError';
  constructor(readonly operation: string) {
    super(`not starting ${operation}: the Lambda deadline is near`);
  }
}

// Codes that mean "the stack is set up wrong": retrying cannot help.
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

// Codes that mean "try again later" or "the world moved between observe and act".
const TRANSIENT_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
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

function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const { name, code, Code } = error as { name?: unknown; code?: unknown; Code?: unknown };
  for (const candidate of [Code, code, name]) {
    if (typeof candidate === 'string' && candidate !== 'Error') return candidate;
  }
  return 'UnknownError';
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Maps anything an SDK call threw to a named error. Unrecognised 4xx codes count as configuration errors
 * (loud), anything else unrecognised (5xx, no status: network) as transient.
 */
export function classifyAwsError(
  operation: string,
  error: unknown,
): AwsConfigurationError | AwsTransientError {
  const code = errorCode(error);
  if (CONFIGURATION_CODES.has(code)) return new AwsConfigurationError(operation, code, { cause: error });
  if (TRANSIENT_CODES.has(code)) return new AwsTransientError(operation, code, { cause: error });
  const status = httpStatus(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return new AwsConfigurationError(operation, code, { cause: error });
  }
  return new AwsTransientError(operation, code, { cause: error });
}

/** Runs one AWS call and rethrows its failure as a named error. */
export async function callAws<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof DeadlineReachedError) throw error;
    throw classifyAwsError(operation, error);
  }
}
