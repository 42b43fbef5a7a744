import { DeadlineReachedError } from './errors';

/** Time budget of one run: AWS calls are started only while enough of the Lambda's time is left. */
export interface Deadline {
  remainingMs(): number;
  /** Throws DeadlineReachedError when starting `operation` could outlive the Lambda. */
  ensureTimeFor(operation: string): void;
}

/** One AWS request (one attempt, see createFailoverClients) takes at most its 2 s connect + 5 s request timeout. */
const DEFAULT_RESERVE_MS = 8_000;

export function lambdaDeadline(
  getRemainingTimeInMillis: () => number,
  reserveMs = DEFAULT_RESERVE_MS,
): Deadline {
  return {
    remainingMs: getRemainingTimeInMillis,
    ensureTimeFor(operation) {
      if (getRemainingTimeInMillis() < reserveMs) throw new DeadlineReachedError(operation);
    },
  };
}
