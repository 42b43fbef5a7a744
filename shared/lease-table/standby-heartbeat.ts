import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { wrapAwsCall } from '../aws-errors';
import {
  HEARTBEAT_KEPT_MS,
  HEARTBEAT_TTL_ATTRIBUTE,
  LEASE_KEY_ATTRIBUTE,
  standbyHeartbeatKey,
} from './lease-item';
import type { LeaseLocation } from './read-lease';

// The standbys' heartbeat items (see lease-item.ts): written by each waiting standby's sidecar, read by
// `npm run db -- switchover`.

/** A standby's sign of life for `npm run db -- switchover` (see standbyHeartbeatKey). */
export interface StandbyHeartbeat {
  beat(seenLeaseExpiresAtMs: number): Promise<void>;
}

/** Thrown when a heartbeat could not be written; the standby carries on (the heartbeat is for people). */
export class HeartbeatError extends Error {
  override name = 'HeartbeatError';
}

/** The heartbeat as its own item of the lease table, overwritten by each beat (PutItem: no condition needed). */
export function dynamoDbStandbyHeartbeat(options: {
  client: DynamoDBClient;
  table: string;
  leaseName: string;
  instanceId: string;
  requestTimeoutMs: number;
}): StandbyHeartbeat {
  const { client, table, leaseName, instanceId } = options;
  return {
    async beat(seenLeaseExpiresAtMs) {
      await wrapAwsCall(
        () =>
          client.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                [LEASE_KEY_ATTRIBUTE]: { S: standbyHeartbeatKey(leaseName, instanceId) },
                seenLeaseExpiresAtMs: { N: String(seenLeaseExpiresAtMs) },
                // Counted on the holder's clock, like everything else the switchover compares.
                [HEARTBEAT_TTL_ATTRIBUTE]: {
                  N: String(Math.floor((seenLeaseExpiresAtMs + HEARTBEAT_KEPT_MS) / 1000)),
                },
              },
            }),
            { abortSignal: AbortSignal.timeout(options.requestTimeoutMs) },
          ),
        ({ code, cause }) => new HeartbeatError(`standby heartbeat not written (${code})`, { cause }),
      );
    },
  };
}

/**
 * Per instance, the lease expiry its sidecar last reported having read. One consistent GetItem per instance (a
 * stage has a few), within `dynamodb:GetItem` on the lease table. SDK errors pass through unchanged.
 */
export async function readStandbyHeartbeats(
  location: LeaseLocation,
  instanceIds: readonly string[],
): Promise<Map<string, number>> {
  const heartbeats = new Map<string, number>();
  for (const instanceId of instanceIds) {
    const { Item } = await location.client.send(
      new GetItemCommand({
        TableName: location.table,
        Key: { [LEASE_KEY_ATTRIBUTE]: { S: standbyHeartbeatKey(location.name, instanceId) } },
        ConsistentRead: true,
      }),
    );
    const seen = Number(Item?.seenLeaseExpiresAtMs?.N);
    if (Number.isFinite(seen)) heartbeats.set(instanceId, seen);
  }
  return heartbeats;
}
