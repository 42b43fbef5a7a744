import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The lease that names the database primary: one DynamoDB item in the stage's lease table, written only
 * by the database sidecars (conditional writes), read by the failover controller.
 *
 * Table key: `lockName` (string). The primary's item has lockName = LEASE_NAME.
 */
export const LEASE_NAME = 'database-primary';

export interface LeaseRecord {
  /** EC2 instance id of the holder (locally: the sidecar's id). */
  holderId: string;
  /**
   * Grows by one with every new holder. What it guards: the lease's generations (every take is a compare-and-swap
   * on it, every holder write is conditional on it) and the start of PostgreSQL (a holder records it beside PGDATA
   * and refuses to start if a later one is recorded there). It does not fence a running server's writes: nothing
   * checks it once PostgreSQL runs; the fence (a forced stop) and self-fencing do that.
   */
  fencingToken: number;
  /** Epoch milliseconds after which the lease is free unless renewed. */
  expiresAtMs: number;
  /** Set once the holder's PostgreSQL accepts connections and it has taken the virtual IP. */
  primarySinceMs?: number;
  /**
   * Set while the holder has not yet fenced every other database instance (it took the lease when the holder was
   * unknown: item absent or malformed). Whoever takes the lease over from it must fence them all too.
   */
  fenceAllPending?: boolean;
}

function numberAttribute(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const n = Number(value.N);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads the raw DynamoDB item; undefined when malformed (the sidecar then treats the holder as unknown). */
export function parseLeaseItem(item: Record<string, AttributeValue> | undefined): LeaseRecord | undefined {
  const holderId = item?.holderId?.S;
  const fencingToken = numberAttribute(item?.fencingToken);
  const expiresAtMs = numberAttribute(item?.expiresAtMs);
  if (!holderId || fencingToken === undefined || expiresAtMs === undefined) return undefined;
  const primarySinceMs = numberAttribute(item?.primarySinceMs);
  return {
    holderId,
    fencingToken,
    expiresAtMs,
    ...(primarySinceMs === undefined ? {} : { primarySinceMs }),
    ...(item?.fenceAllPending?.BOOL === true ? { fenceAllPending: true } : {}),
  };
}
