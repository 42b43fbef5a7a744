/** Stops a peer for good (its PostgreSQL included) and returns only once that is confirmed. */
export interface Fencer {
  fence(peerId: string): Promise<void>;
  /** Fences every database instance of the stage except this one: for when the holder is unknown. */
  fenceAllOthers(): Promise<void>;
}

/** Fencing could not be confirmed: the caller must not take the lease, and retries later. */
export class FenceError extends Error {
  override name = 'FenceError';
}
