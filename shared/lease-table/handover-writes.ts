import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type HandoverRequest, leaseKey } from './lease-item';
import type { LeaseLocation } from './read-lease';

// The operator's writes (`npm run db -- switchover`): a handover request on the lease item and its withdrawal.
// They touch only the handover attributes, which the sidecars' own conditions never look at, so a request cannot
// disturb a take or a renewal. SDK errors (ConditionalCheckFailedException included) pass through unchanged: the
// command resolves a lost answer by reading the item back (scripts/db/handover-request.ts).

/**
 * Asks the holder of generation `fencingToken` to hand the lease to `request.to`; applied only while the lease is
 * still that holder's generation, published as primary, not released, and without a standing request.
 */
export async function writeHandoverRequest(
  location: LeaseLocation,
  holder: { holderId: string; fencingToken: number },
  request: HandoverRequest,
): Promise<void> {
  await location.client.send(
    new UpdateItemCommand({
      TableName: location.table,
      Key: leaseKey(location.name),
      UpdateExpression: 'SET handoverTo = :to, handoverRequestedAtMs = :at, handoverExpiresAtMs = :until',
      ConditionExpression:
        'holderId = :holder AND fencingToken = :token AND attribute_exists(primarySinceMs) AND ' +
        'attribute_not_exists(releasedAtMs) AND (attribute_not_exists(handoverTo) OR handoverExpiresAtMs <= expiresAtMs)',
      ExpressionAttributeValues: {
        ':to': { S: request.to },
        ':at': { N: String(request.requestedAtMs) },
        ':until': { N: String(request.expiresAtMs) },
        ':holder': { S: holder.holderId },
        ':token': { N: String(holder.fencingToken) },
      },
    }),
  );
}

/** Removes a request, only if it is still exactly this one (its target and request time name it). */
export async function removeHandoverRequest(
  location: LeaseLocation,
  request: Pick<HandoverRequest, 'to' | 'requestedAtMs'>,
): Promise<void> {
  await location.client.send(
    new UpdateItemCommand({
      TableName: location.table,
      Key: leaseKey(location.name),
      UpdateExpression: 'REMOVE handoverTo, handoverRequestedAtMs, handoverExpiresAtMs',
      ConditionExpression: 'handoverTo = :to AND handoverRequestedAtMs = :at',
      ExpressionAttributeValues: {
        ':to': { S: request.to },
        ':at': { N: String(request.requestedAtMs) },
      },
    }),
  );
}
