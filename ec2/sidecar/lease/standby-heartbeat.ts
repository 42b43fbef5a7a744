import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { wrapAwsCall } from '../../../shared/aws-errors';
import { standbyHeartbeatKey } from '../../../shared/lease-record';

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
                lockName: { S: standbyHeartbeatKey(leaseName, instanceId) },
                seenLeaseExpiresAtMs: { N: String(seenLeaseExpiresAtMs) },
              },
            }),
            { abortSignal: AbortSignal.timeout(options.requestTimeoutMs) },
          ),
        ({ code, cause }) => new HeartbeatError(`standby heartbeat not written (${code})`, { cause }),
      );
    },
  };
}
