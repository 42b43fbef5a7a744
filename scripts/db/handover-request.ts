import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { callAws, classifyAwsError } from '../../handlers/failover/errors';
import { awsHttpStatus } from '../../shared/aws-errors';
import { removeHandoverRequest, writeHandoverRequest } from '../../shared/lease-table/handover-writes';
import { type LeaseLocation, readLease } from '../../shared/lease-table/read-lease';

/**
 * How long a handover request stands, on the holder's clock: its expiry is the lease's `expiresAtMs` as read plus
 * this, and it is void once the holder's renewals carry the lease's expiry up to it (standingHandover), so the
 * requester's clock plays no part. The holder reads it with its next renewal (every 2 s by default), so it is
 * normally acted on within seconds; once void, the holder ignores it and the next holder's take removes it, so a
 * request nobody acted on cannot move the primary minutes later.
 */
export const HANDOVER_VALID_MS = 30_000;

/** The lease is no longer the one the request was meant for (a takeover, a release, another request). */
export class LeaseChangedError extends Error {
  override readonly name = 'LeaseChangedError';
}

/**
 * Asks the holder to hand the lease to `to`: one conditional write, applied only while the lease is still this
 * holder's generation, published as primary, not released, and without a standing request. The sidecars' own
 * writes do not look at these attributes, so the request cannot disturb a take or a renewal.
 *
 * `writer` makes one attempt: a write that was applied but whose answer was lost (a timeout, a 5xx) must not be
 * retried, since the retry would fail its own condition. Such an outcome, and a failed condition, are resolved
 * by reading the item back: this very request on it (the same target and request time) is a success. Not on
 * it after a lost answer: `unknown` (the write may still land; the caller watches the lease either way).
 */
export async function requestHandover(
  target: LeaseLocation & { writer: DynamoDBClient },
  request: { holderId: string; fencingToken: number; leaseExpiresAtMs: number; to: string; nowMs: number },
): Promise<{ requestedAtMs: number; expiresAtMs: number; written: 'yes' | 'unknown' }> {
  const expiresAtMs = request.leaseExpiresAtMs + HANDOVER_VALID_MS;
  const requested = { requestedAtMs: request.nowMs, expiresAtMs };
  try {
    await writeHandoverRequest(
      { ...target, client: target.writer },
      { holderId: request.holderId, fencingToken: request.fencingToken },
      { to: request.to, ...requested },
    );
  } catch (error) {
    const refused = error instanceof ConditionalCheckFailedException;
    if (!refused && !answerMayBeLost(error)) throw classifyAwsError('UpdateItem', error);
    if (await isOnTheItem(target, request)) return { ...requested, written: 'yes' };
    if (!refused) return { ...requested, written: 'unknown' };
    throw new LeaseChangedError('the lease changed since it was read (a takeover or another switchover)', {
      cause: error,
    });
  }
  return { ...requested, written: 'yes' };
}

/**
 * Whether a failed write may have been applied all the same: no answer at all (a timeout, a connection lost) or
 * a 5xx. A 4xx (throttling, a refusal of the request) means DynamoDB did not apply it.
 */
function answerMayBeLost(error: unknown): boolean {
  const status = awsHttpStatus(error);
  return status === undefined || status >= 500;
}

/** Reads the lease item (consistently) to see whether it carries this request. */
async function isOnTheItem(target: LeaseLocation, request: { to: string; nowMs: number }): Promise<boolean> {
  const lease = await callAws('GetItem', () => readLease(target));
  const handover = lease.kind === 'present' ? lease.record.handover : undefined;
  return handover?.to === request.to && handover.requestedAtMs === request.nowMs;
}

/** Takes back a request that was not acted on, if it is still exactly this one; reports whether it was. */
export async function withdrawHandover(
  target: LeaseLocation,
  request: { to: string; requestedAtMs: number },
): Promise<boolean> {
  try {
    await callAws('UpdateItem', () => removeHandoverRequest(target, request));
    return true;
  } catch (error) {
    if (error instanceof Error && error.cause instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
