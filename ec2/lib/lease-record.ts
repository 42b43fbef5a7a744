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
  /** Grows by one with every new holder; PostgreSQL writes are fenced by it. */
  fencingToken: number;
  /** Epoch milliseconds after which the lease is free unless renewed. */
  expiresAtMs: number;
  /** Set once the holder's PostgreSQL accepts connections and it has taken the virtual IP. */
  primarySinceMs?: number;
}

function numberAttribute(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const n = Number(value.N);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads the raw DynamoDB item; anything malformed is treated as "no lease" (never acted upon). */
export function parseLeaseItem(item: Record<string, AttributeValue> | undefined): LeaseRecord | undefined {
  const holderId = item?.holderId?.S;
  const fencingToken = numberAttribute(item?.fencingToken);
  const expiresAtMs = numberAttribute(item?.expiresAtMs);
  if (!holderId || fencingToken === undefined || expiresAtMs === undefined) return undefined;
  const primarySinceMs = numberAttribute(item?.primarySinceMs);
  return { holderId, fencingToken, expiresAtMs, ...(primarySinceMs === undefined ? {} : { primarySinceMs }) };
}
