import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { callAws } from '../../handlers/failover/errors';
import { LEASE_NAME, standbyHeartbeatKey } from '../../shared/lease-record';

/**
 * The standbys' heartbeats (ec2/sidecar/lease/standby-heartbeat.ts): per instance, the lease expiry its sidecar
 * last reported having read. One consistent GetItem per instance (a stage has a few), within the command's
 * `dynamodb:GetItem` on the lease table.
 */
export async function readStandbyHeartbeats(
  target: { dynamodb: DynamoDBClient; table: string },
  instanceIds: readonly string[],
): Promise<Map<string, number>> {
  const heartbeats = new Map<string, number>();
  for (const instanceId of instanceIds) {
    const { Item } = await callAws('GetItem', () =>
      target.dynamodb.send(
        new GetItemCommand({
          TableName: target.table,
          Key: { lockName: { S: standbyHeartbeatKey(LEASE_NAME, instanceId) } },
          ConsistentRead: true,
        }),
      ),
    );
    const seen = Number(Item?.seenLeaseExpiresAtMs?.N);
    if (Number.isFinite(seen)) heartbeats.set(instanceId, seen);
  }
  return heartbeats;
}
