import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoDbLeaseStore, LeaseConflictError } from '../../../shared/lease-table/holder-writes';
import { LEASE_NAME } from '../../../shared/lease-table/lease-item';
import { type LeaseStoreServer, startLeaseStoreServer } from '../../chaos/lease-store-server';

// The conditional writes against a DynamoDB-compatible server (dynalite on 127.0.0.1).
const fresh = { seedToken: 1, fenceAllPending: false, takeovers: [] };
describe('dynamoDbLeaseStore', () => {
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

  it('hands out each generation once, and only a current holder may renew, publish or release', async () => {
    // Prepare
    const store = dynamoDbLeaseStore({
      client,
      table: server.table,
      name: LEASE_NAME,
      requestTimeoutMs: 5_000,
    });
    // Act: two standbys race for the absent lease.
    const first = await store.acquire({
      ...fresh,
      replaces: { kind: 'absent' },
      holderId: 'i-a',
      expiresAtMs: 1_000,
    });
    await assert.rejects(
      store.acquire({ ...fresh, replaces: { kind: 'absent' }, holderId: 'i-b', expiresAtMs: 1_000 }),
      LeaseConflictError,
    );
    await store.renew({ holderId: 'i-a', fencingToken: first, expiresAtMs: 2_000 });
    // A standby that read the lease before that renewal loses its compare-and-swap.
    await assert.rejects(
      store.acquire({
        replaces: { kind: 'version', fencingToken: 1, expiresAtMs: 1_000 },
        holderId: 'i-b',
        expiresAtMs: 9_000,
        ...fresh,
      }),
      LeaseConflictError,
    );
    const second = await store.acquire({
      replaces: { kind: 'version', fencingToken: 1, expiresAtMs: 2_000 },
      holderId: 'i-b',
      expiresAtMs: 12_000,
      ...fresh,
    });
    // Assess: the old holder is shut out of every write.
    assert.equal(first, 1);
    assert.equal(second, 2);
    await assert.rejects(
      store.renew({ holderId: 'i-a', fencingToken: 1, expiresAtMs: 99_000 }),
      LeaseConflictError,
    );
    await assert.rejects(
      store.publishPrimary({ holderId: 'i-a', fencingToken: 1, primarySinceMs: 5, takeovers: [] }),
      LeaseConflictError,
    );
    await assert.rejects(
      store.release({ holderId: 'i-a', fencingToken: 1, releasedAtMs: 5 }),
      LeaseConflictError,
    );
    await store.publishPrimary({ holderId: 'i-b', fencingToken: 2, primarySinceMs: 11_000, takeovers: [] });
    assert.deepEqual(await server.readLease(), {
      holderId: 'i-b',
      fencingToken: 2,
      expiresAtMs: 12_000,
      primarySinceMs: 11_000,
      takeovers: [],
    });
  });

  it('a released lease cannot be renewed by its former holder and is taken with the next token', async () => {
    // Prepare
    const store = dynamoDbLeaseStore({
      client,
      table: server.table,
      name: 'release-test',
      requestTimeoutMs: 5_000,
    });
    const token = await store.acquire({
      ...fresh,
      replaces: { kind: 'absent' },
      holderId: 'i-a',
      expiresAtMs: 5_000,
    });
    // Act
    await store.release({ holderId: 'i-a', fencingToken: token, releasedAtMs: 4_000 });
    const observed = await store.read();
    // Assess
    assert.deepEqual(observed, {
      kind: 'present',
      record: { holderId: 'i-a', fencingToken: 1, expiresAtMs: 0, releasedAtMs: 4_000, takeovers: [] },
    });
    await assert.rejects(
      store.renew({ holderId: 'i-a', fencingToken: token, expiresAtMs: 9_000 }),
      LeaseConflictError,
    );
    const next = await store.acquire({
      replaces: { kind: 'version', fencingToken: 1, expiresAtMs: 0 },
      holderId: 'i-b',
      expiresAtMs: 9_000,
      ...fresh,
    });
    assert.equal(next, 2);
    assert.deepEqual(await store.read(), {
      kind: 'present',
      record: { holderId: 'i-b', fencingToken: 2, expiresAtMs: 9_000, takeovers: [] },
    });
  });

  it('replaces an absent or malformed item only while it is still so, with the seeded token and the fence-all mark', async () => {
    // Prepare: a holder's item is replaced by garbage (wrong types), as a person or a bad deploy might.
    const store = dynamoDbLeaseStore({
      client,
      table: server.table,
      name: 'lost-test',
      requestTimeoutMs: 5_000,
    });
    await client.send(
      new PutItemCommand({
        TableName: server.table,
        Item: { lockName: { S: 'lost-test' }, holderId: { N: '7' }, fencingToken: { S: 'seven' } },
      }),
    );
    // Act
    const observed = await store.read();
    const token = await store.acquire({
      replaces: { kind: 'malformed' },
      holderId: 'i-a',
      expiresAtMs: 5_000,
      seedToken: 8,
      fenceAllPending: true,
      takeovers: [],
    });
    // Assess: a second standby that also saw it malformed loses; the mark stays until the holder clears it.
    assert.deepEqual(observed, { kind: 'malformed' });
    assert.equal(token, 8);
    await assert.rejects(
      store.acquire({
        replaces: { kind: 'malformed' },
        holderId: 'i-b',
        expiresAtMs: 5_000,
        seedToken: 8,
        fenceAllPending: true,
        takeovers: [],
      }),
      LeaseConflictError,
    );
    assert.deepEqual(await store.read(), {
      kind: 'present',
      record: {
        holderId: 'i-a',
        fencingToken: 8,
        expiresAtMs: 5_000,
        fenceAllPending: true,
        takeovers: [],
      },
    });
    await store.fenceAllDone({ holderId: 'i-a', fencingToken: 8 });
    assert.deepEqual(await store.read(), {
      kind: 'present',
      record: { holderId: 'i-a', fencingToken: 8, expiresAtMs: 5_000, takeovers: [] },
    });
    await assert.rejects(
      store.acquire({
        replaces: { kind: 'absent' },
        holderId: 'i-b',
        expiresAtMs: 5_000,
        seedToken: 9,
        fenceAllPending: true,
        takeovers: [],
      }),
      LeaseConflictError,
    );
  });
});
