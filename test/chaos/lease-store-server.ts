import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LEASE_NAME, type LeaseRecord, parseLeaseItem } from '../../shared/lease-table/lease-item';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => Server;

// Fake credentials for the local DynamoDB-compatible server; nothing here talks to AWS.
export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
};

export interface LeaseStoreServer {
  port: number;
  /** http://127.0.0.1:<port>, for an SDK client's `endpoint`. */
  endpoint: string;
  table: string;
  /** The dynalite server itself (tests may listen to its requests). */
  server: Server;
  /** A new SDK client of this server, with the local credentials and these settings besides; the caller destroys it. */
  client(settings?: DynamoDBClientConfig): DynamoDBClient;
  readLease(): Promise<(LeaseRecord & { releasedAtMs?: number }) | undefined>;
  /** The lease-deleted fault: the item removed, as a person or a recreated table would. */
  deleteLease(): Promise<void>;
  /** The lease-corrupt fault: the item overwritten with these attributes (the key is added). */
  putRawLease(item: Record<string, AttributeValue>): Promise<void>;
  close(): Promise<void>;
}

/** dynalite (an in-memory DynamoDB implementation) on 127.0.0.1 with the lease table created. */
export async function startLeaseStoreServer({ table = 'chaos-lease' } = {}): Promise<LeaseStoreServer> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const endpoint = `http://127.0.0.1:${port}`;
  const clientOf = (settings: DynamoDBClientConfig = {}) =>
    new DynamoDBClient({
      region: LOCAL_AWS_ENV.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...settings,
      endpoint,
    });
  const client = clientOf();
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'lockName', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'lockName', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return {
    port,
    endpoint,
    client: clientOf,
    table,
    server,
    async readLease() {
      const result = await client.send(
        new GetItemCommand({ TableName: table, Key: { lockName: { S: LEASE_NAME } }, ConsistentRead: true }),
      );
      const record = parseLeaseItem(result.Item);
      const released = result.Item?.releasedAtMs?.N;
      return record && (released === undefined ? record : { ...record, releasedAtMs: Number(released) });
    },
    async deleteLease() {
      await client.send(new DeleteItemCommand({ TableName: table, Key: { lockName: { S: LEASE_NAME } } }));
    },
    async putRawLease(item) {
      await client.send(
        new PutItemCommand({ TableName: table, Item: { ...item, lockName: { S: LEASE_NAME } } }),
      );
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
