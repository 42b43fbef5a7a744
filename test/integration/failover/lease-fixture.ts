// The lease table in dynalite (an in-memory DynamoDB) on 127.0.0.1, holding one primary lease, for the
// end-to-end test; it records the DynamoDB operations it receives.
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { LEASE_NAME } from '../../../ec2/lib/lease-record';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => Server;

export interface LeaseFixture {
  endpoint: string;
  /** X-Amz-Target of every request, e.g. DynamoDB_20120810.GetItem. */
  operations: string[];
  close(): Promise<void>;
}

export async function startLeaseFixture(
  table: string,
  holderId: string,
  nowMs: number,
): Promise<LeaseFixture> {
  const server = dynalite({ createTableMs: 0 });
  const operations: string[] = [];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'fixture' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'lockName', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'lockName', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        lockName: { S: LEASE_NAME },
        holderId: { S: holderId },
        fencingToken: { N: '3' },
        // Long enough to outlast the test: the controller must see a live lease.
        expiresAtMs: { N: String(nowMs + 30 * 60_000) },
        primarySinceMs: { N: String(nowMs - 60_000) },
      },
    }),
  );
  client.destroy();
  server.on('request', (request: { headers: Record<string, string | undefined> }) => {
    operations.push(request.headers['x-amz-target'] ?? '');
  });
  return {
    endpoint,
    operations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
