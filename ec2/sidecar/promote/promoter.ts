/** Points client traffic (the virtual IP) at this instance. Idempotent: a no-op when already in place. */
export interface Promoter {
  promote(input: { fencingToken: number }): Promise<void>;
}

/** The route could not be put in place or verified; the holder retries. */
export class PromoteError extends Error {
  override name = 'PromoteError';
}
