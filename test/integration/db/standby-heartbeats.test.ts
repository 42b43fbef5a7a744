// The standbys' heartbeats, as the sidecar writes them and `db switchover` reads them, against a DynamoDB-compatible
// server (dynalite on 127.0.0.1), beside the lease item they must leave alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoDbLeaseStore } from '../../../shared/lease-table/holder-writes';
import {
  HEARTBEAT_KEPT_MS,
  HEARTBEAT_TTL_ATTRIBUTE,
  LEASE_NAME,
  standbyHeartbeatKey,
} from '../../../shared/lease-table/lease-item';
import {
  dynamoDbStandbyHeartbeat,
  readStandbyHeartbeats,
} from '../../../shared/lease-table/standby-heartbeat';
import { type LeaseStoreServer, startLeaseStoreServer } from '../../chaos/lease-store-server';

describe('standby heartbeats', () => {
  let server: LeaseStoreServer;
  let client: DynamoDBClient;

  before(async () => {
    server = await startLeaseStoreServer();
    client = server.client();
  });

  after(async () => {
    client.destroy();
    await server.close();
  });

  it('are read back per instance, the latest beat winning, and leave the lease item untouched', async () => {
    // Prepare: i-a holds the lease.
    const store = dynamoDbLeaseStore({
      client,
      table: server.table,
      name: LEASE_NAME,
      requestTimeoutMs: 5_000,
    });
    await store.acquire({
      replaces: { kind: 'absent' },
      holderId: 'i-a',
      expiresAtMs: 10_000,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [],
    });
    const lease = await server.readLease();
    const beatOf = (instanceId: string) =>
      dynamoDbStandbyHeartbeat({
        client,
        table: server.table,
        leaseName: LEASE_NAME,
        instanceId,
        requestTimeoutMs: 5_000,
      });
    // Act
    await beatOf('i-b').beat(9_000);
    await beatOf('i-b').beat(10_000);
    await beatOf('i-c').beat(4_000);
    const heartbeats = await readStandbyHeartbeats({ client, table: server.table, name: LEASE_NAME }, [
      'i-b',
      'i-c',
      'i-d',
    ]);
    // Assess
    assert.deepEqual(
      [...heartbeats],
      [
        ['i-b', 10_000],
        ['i-c', 4_000],
      ],
    );
    assert.deepEqual(await server.readLease(), lease);
    const rawItem = async (key: string) =>
      (await client.send(new GetItemCommand({ TableName: server.table, Key: { lockName: { S: key } } })))
        .Item;
    const leaseItem = await rawItem(LEASE_NAME);
    assert.ok(leaseItem && !(HEARTBEAT_TTL_ATTRIBUTE in leaseItem), 'the lease item never expires by TTL');
    assert.deepEqual((await rawItem(standbyHeartbeatKey(LEASE_NAME, 'i-b')))?.[HEARTBEAT_TTL_ATTRIBUTE], {
      N: String(Math.floor((10_000 + HEARTBEAT_KEPT_MS) / 1000)),
    });
    assert.deepEqual(await store.read(), { kind: 'present', record: lease });
  });
});
