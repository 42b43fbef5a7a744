import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { callAws, classifyAwsError } from '../../handlers/failover/errors';
import { LEASE_NAME } from '../../shared/lease-record';

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

interface Target {
  dynamodb: DynamoDBClient;
  table: string;
}

/**
 * Asks the holder to hand the lease to `to`: one conditional write, applied only while the lease is still this
 * holder's generation, published as primary, not released, and without a standing request. The sidecars' own
 * writes do not look at these attributes, so the request cannot disturb a take or a renewal.
 */
export async function requestHandover(
  target: Target,
  request: { holderId: string; fencingToken: number; leaseExpiresAtMs: number; to: string; nowMs: number },
): Promise<{ requestedAtMs: number; expiresAtMs: number }> {
  const expiresAtMs = request.leaseExpiresAtMs + HANDOVER_VALID_MS;
  try {
    await target.dynamodb.send(
      new UpdateItemCommand({
        TableName: target.table,
        Key: { lockName: { S: LEASE_NAME } },
        UpdateExpression: 'SET handoverTo = :to, handoverRequestedAtMs = :at, handoverExpiresAtMs = :until',
        ConditionExpression:
          'holderId = :holder AND fencingToken = :token AND attribute_exists(primarySinceMs) AND ' +
          'attribute_not_exists(releasedAtMs) AND (attribute_not_exists(handoverTo) OR handoverExpiresAtMs <= expiresAtMs)',
        ExpressionAttributeValues: {
          ':to': { S: request.to },
          ':at': { N: String(request.nowMs) },
          ':until': { N: String(expiresAtMs) },
          ':holder': { S: request.holderId },
          ':token': { N: String(request.fencingToken) },
        },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new LeaseChangedError('the lease changed since it was read (a takeover or another switchover)', {
        cause: error,
      });
    }
    throw classifyAwsError('UpdateItem', error);
  }
  return { requestedAtMs: request.nowMs, expiresAtMs };
}

/** Takes back a request that was not acted on, if it is still exactly this one; reports whether it was. */
export async function withdrawHandover(
  target: Target,
  request: { to: string; requestedAtMs: number },
): Promise<boolean> {
  try {
    await callAws('UpdateItem', () =>
      target.dynamodb.send(
        new UpdateItemCommand({
          TableName: target.table,
          Key: { lockName: { S: LEASE_NAME } },
          UpdateExpression: 'REMOVE handoverTo, handoverRequestedAtMs, handoverExpiresAtMs',
          ConditionExpression: 'handoverTo = :to AND handoverRequestedAtMs = :at',
          ExpressionAttributeValues: {
            ':to': { S: request.to },
            ':at': { N: String(request.requestedAtMs) },
          },
        }),
      ),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.cause instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
