import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { wrapAwsCall } from '../../../shared/aws-errors';
import {
  HEARTBEAT_KEPT_MS,
  HEARTBEAT_TTL_ATTRIBUTE,
  standbyHeartbeatKey,
} from '../../../shared/lease-record';

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
