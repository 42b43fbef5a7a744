/**
 * The controller keeps three kinds of outcome apart:
 * - configuration errors: the controller's own settings, env or event (ConfigurationError, shared/configuration.ts,
 *   detected before any AWS call), or AWS refusing how the stack is set up (AwsConfigurationError: a missing
 *   permission or table): fail loudly, a human must act;
 * - transient errors (throttling, 5xx, network, the world changed under us): log, the next run retries;
 * - observed state (no healthy candidate, unknown state): not an error at all, it is part of the decision.
 * Each AWS call is wrapped once, so the rest of the code sees only these named errors.
 */
import { type AwsFailure, awsErrorCode, awsErrorKind, wrapAwsCall } from '../../shared/aws-errors';

/** An AWS call failed: which call, the service's error code, and the SDK's error as `cause`. */
abstract class AwsCallError extends Error {
  constructor(
    readonly operation: string,
    readonly code: string,
    consequence: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed with ${code}${consequence}`, options);
  }
}

/** AWS refused the call because of how the stack is set up (IAM, missing table, bad parameter). */
export class AwsConfigurationError extends AwsCallError {
  override readonly name = 'AwsConfigurationError';
}

/** AWS failed in a way that the next run may not see (throttling, 5xx, network, a race with another writer). */
export class AwsTransientError extends AwsCallError {
  override readonly name = 'AwsTransientError';
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

/** Maps anything an SDK call threw to a named error of the controller (shared/aws-errors.ts decides which). */
export function classifyAwsError(
  operation: string,
  error: unknown,
): AwsConfigurationError | AwsTransientError {
  return namedError(operation, { code: awsErrorCode(error), kind: awsErrorKind(error), cause: error });
}

function namedError(
  operation: string,
  { code, kind, cause }: AwsFailure,
): AwsConfigurationError | AwsTransientError {
  return kind === 'configuration'
    ? new AwsConfigurationError(operation, code, ": the stack's configuration or permissions are wrong", {
        cause,
      })
    : new AwsTransientError(operation, code, '; the next run retries', { cause });
}

/** Runs one AWS call and rethrows its failure as a named error; a deadline stop passes through unchanged. */
export function callAws<T>(operation: string, call: () => Promise<T>): Promise<T> {
  return wrapAwsCall(call, (failure) =>
    failure.cause instanceof DeadlineReachedError ? failure.cause : namedError(operation, failure),
  );
}
