import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
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
  /** The dynalite server itself (tests may listen to its requests); absent when it runs in a process of its own. */
  server?: Server;
  /** A new SDK client of this server, with the local credentials and these settings besides; the caller destroys it. */
  client(settings?: DynamoDBClientConfig): DynamoDBClient;
  readLease(): Promise<(LeaseRecord & { releasedAtMs?: number }) | undefined>;
  /** The lease-deleted fault: the item removed, as a person or a recreated table would. */
  deleteLease(): Promise<void>;
  /** The lease-corrupt fault: the item overwritten with these attributes (the key is added). */
  putRawLease(item: Record<string, AttributeValue>): Promise<void>;
  close(): Promise<void>;
}

/**
 * dynalite (an in-memory DynamoDB implementation) on 127.0.0.1 with the lease table created. `ownProcess`: in a
 * process of its own, scheduled ahead of the emulated instances as the sampler is (DynamoDB does not share their
 * CPU on AWS; on a loaded machine an in-process store answers the lease's 1–2 s requests too late).
 */
export async function startLeaseStoreServer({
  table = 'chaos-lease',
  ownProcess = false,
} = {}): Promise<LeaseStoreServer> {
  let server: Server | undefined;
  let child: ChildProcess | undefined;
  let port: number;
  if (ownProcess) {
    const started = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./lease-store-process.ts', import.meta.url).pathname],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = started;
    if (started.pid) {
      try {
        setPriority(started.pid, -5);
      } catch {
        // not permitted: normal priority
      }
    }
    port = await new Promise<number>((resolve, reject) => {
      started.once('exit', (code) => reject(new Error(`lease store exited with ${code}`)));
      createInterface({ input: started.stdout as NodeJS.ReadableStream }).once('line', (line) =>
        resolve(Number(line)),
      );
    });
  } else {
    const local = dynalite({ createTableMs: 0 });
    server = local;
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    const address = local.address();
    port = typeof address === 'object' && address ? address.port : 0;
  }
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
    ...(server ? { server } : {}),
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
      if (server) {
        const local = server;
        await new Promise<void>((resolve) => local.close(() => resolve()));
      }
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
