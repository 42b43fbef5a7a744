// The lease table in dynalite (an in-memory DynamoDB) on 127.0.0.1, holding one primary lease, for the
// end-to-end test; it records the DynamoDB operations it receives.
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { LEASE_NAME } from '../../../shared/lease-table/lease-item';
import { startLeaseStoreServer } from '../../chaos/lease-store-server';

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
  const store = await startLeaseStoreServer({ table });
  const { endpoint, server } = store;
  if (!server) throw new Error('the lease fixture listens to an in-process store');
  const operations: string[] = [];
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'fixture' },
  });
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
    close: () => store.close(),
  };
}
