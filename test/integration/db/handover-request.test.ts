// The handover request (`db switchover`'s one write) and the sidecar's lease writes together, against a
// DynamoDB-compatible server (dynalite on 127.0.0.1): what each write leaves on the lease item.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  HANDOVER_VALID_MS,
  LeaseChangedError,
  requestHandover,
  withdrawHandover,
} from '../../../scripts/db/handover-request';
import { dynamoDbLeaseStore, type LeaseStore } from '../../../shared/lease-table/holder-writes';
import { LEASE_NAME, standingHandover, type Takeover } from '../../../shared/lease-table/lease-item';
import { type LeaseStoreServer, startLeaseStoreServer } from '../../chaos/lease-store-server';

const NOW = 1_800_000_000_000;
const first: Takeover = {
  holderId: 'i-a',
  fencingToken: 1,
  reason: 'holder-unknown',
  fenced: 'all-others',
  acquiredAtMs: NOW,
};

describe('handover request on the lease item', () => {
  let server: LeaseStoreServer;
  let client: DynamoDBClient;
  let store: LeaseStore;
  let target: { client: DynamoDBClient; writer: DynamoDBClient; table: string; name: string };

  before(async () => {
    server = await startLeaseStoreServer();
    client = server.client();
    store = dynamoDbLeaseStore({ client, table: server.table, name: LEASE_NAME, requestTimeoutMs: 5_000 });
    target = { client, writer: client, table: server.table, name: LEASE_NAME };
  });

  after(async () => {
    client.destroy();
    await server.close();
  });

  it('is accepted only from a settled primary, reaches it in a renewal, and ends with the generation', async () => {
    // Prepare: i-a takes the lease; it is not primary yet.
    const token = await store.acquire({
      replaces: { kind: 'absent' },
      holderId: 'i-a',
      expiresAtMs: NOW + 10_000,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [first],
    });
    const ask = (nowMs: number) =>
      requestHandover(target, {
        holderId: 'i-a',
        fencingToken: token,
        leaseExpiresAtMs: NOW + 10_000,
        to: 'i-b',
        nowMs,
      });
    await assert.rejects(ask(NOW), LeaseChangedError);
    await store.publishPrimary({
      holderId: 'i-a',
      fencingToken: token,
      primarySinceMs: NOW + 500,
      takeovers: [{ ...first, primarySinceMs: NOW + 500 }],
    });

    // Act: the request, a second one while it stands, the holder's next renewal, and one during its stop.
    const request = await ask(NOW + 1_000);
    await assert.rejects(ask(NOW + 2_000), LeaseChangedError);
    const renewed = await store.renew({
      holderId: 'i-a',
      fencingToken: token,
      expiresAtMs: NOW + 12_000,
      postgresAnswering: true,
    });
    const stopping = await store.renew({
      holderId: 'i-a',
      fencingToken: token,
      expiresAtMs: NOW + 13_000,
      writesStoppedAtMs: NOW + 2_500,
    });
    await store.release({
      holderId: 'i-a',
      fencingToken: token,
      releasedAtMs: NOW + 3_000,
      handedOverTo: 'i-b',
      writesStoppedAtMs: NOW + 2_500,
    });
    const released = await server.readLease();
    await assert.rejects(ask(NOW + 4_000), LeaseChangedError);
    await store.acquire({
      replaces: { kind: 'version', fencingToken: token, expiresAtMs: 0 },
      holderId: 'i-b',
      expiresAtMs: NOW + 14_000,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [
        first,
        { holderId: 'i-b', fencingToken: 2, reason: 'handover', fenced: 'none', acquiredAtMs: NOW + 3_200 },
      ],
    });
    const taken = await server.readLease();

    // Assess
    assert.deepEqual(request, {
      requestedAtMs: NOW + 1_000,
      expiresAtMs: NOW + 10_000 + HANDOVER_VALID_MS,
      written: 'yes',
    });
    assert.deepEqual(renewed?.handover, { to: 'i-b', requestedAtMs: NOW + 1_000, expiresAtMs: NOW + 40_000 });
    assert.equal(renewed?.postgresAnswering, true);
    assert.equal(renewed?.writesStoppedAtMs, undefined);
    assert.equal(stopping?.writesStoppedAtMs, NOW + 2_500);
    assert.deepEqual(released, {
      holderId: 'i-a',
      fencingToken: 1,
      expiresAtMs: 0,
      releasedAtMs: NOW + 3_000,
      handedOverTo: 'i-b',
      writesStoppedAtMs: NOW + 2_500,
      takeovers: [{ ...first, primarySinceMs: NOW + 500 }],
    });
    assert.deepEqual(taken, {
      holderId: 'i-b',
      fencingToken: 2,
      expiresAtMs: NOW + 14_000,
      takeovers: [
        first,
        { holderId: 'i-b', fencingToken: 2, reason: 'handover', fenced: 'none', acquiredAtMs: NOW + 3_200 },
      ],
    });
  });

  it('is withdrawn only while it is still exactly the request made', async () => {
    // Prepare: i-b is primary (the first test's end), and a request to i-a stands.
    await store.publishPrimary({
      holderId: 'i-b',
      fencingToken: 2,
      primarySinceMs: NOW + 4_000,
      takeovers: [],
    });
    const request = await requestHandover(target, {
      holderId: 'i-b',
      fencingToken: 2,
      leaseExpiresAtMs: NOW + 14_000,
      to: 'i-a',
      nowMs: NOW + 5_000,
    });
    // Act
    const stale = await withdrawHandover(target, { to: 'i-a', requestedAtMs: NOW });
    const withdrawn = await withdrawHandover(target, { to: 'i-a', requestedAtMs: request.requestedAtMs });
    const again = await withdrawHandover(target, { to: 'i-a', requestedAtMs: request.requestedAtMs });
    // Assess
    assert.deepEqual([stale, withdrawn, again], [false, true, false]);
    assert.equal((await server.readLease())?.handover, undefined);
  });

  it("stands until the holder's renewals carry the lease's expiry up to it, whatever the requester's clock", async () => {
    // Prepare: i-b holds (token 2, the lease as the test before left it); the requester's clock is 10 minutes
    // behind the holder's, so its own time would have voided the request at once.
    const behindMs = 600_000;
    const lease = await server.readLease();
    assert.ok(lease);
    let asked = 0;
    const ask = (leaseExpiresAtMs: number) =>
      requestHandover(target, {
        holderId: 'i-b',
        fencingToken: 2,
        leaseExpiresAtMs,
        to: 'i-a',
        nowMs: NOW - behindMs + 1_000 * ++asked,
      });
    const renew = (expiresAtMs: number) => store.renew({ holderId: 'i-b', fencingToken: 2, expiresAtMs });
    // Act
    const request = await ask(lease.expiresAtMs);
    const standing = await renew(lease.expiresAtMs + HANDOVER_VALID_MS - 1);
    await assert.rejects(ask(lease.expiresAtMs + HANDOVER_VALID_MS - 1), LeaseChangedError);
    const voided = await renew(lease.expiresAtMs + HANDOVER_VALID_MS);
    const replacing = await ask(lease.expiresAtMs + HANDOVER_VALID_MS);
    // Assess
    assert.equal(request.expiresAtMs, lease.expiresAtMs + HANDOVER_VALID_MS);
    assert.equal(standingHandover(standing)?.to, 'i-a');
    assert.equal(standingHandover(voided), undefined);
    assert.equal(replacing.expiresAtMs, lease.expiresAtMs + 2 * HANDOVER_VALID_MS);
    assert.equal(standingHandover(await server.readLease())?.to, 'i-a');
    await withdrawHandover(target, { to: 'i-a', requestedAtMs: replacing.requestedAtMs });
  });

  it('is a success when applied though its answer was lost, even if the SDK then retried it', async () => {
    // Prepare: i-b holds (token 2). Each writer delivers the write, then loses DynamoDB's answer to an HTTP 500,
    // as a load balancer or a dropped connection may; one makes a single attempt, one the SDK's default three.
    const lease = await server.readLease();
    assert.ok(lease);
    const losingAnswers = (maxAttempts: number) => {
      const writer = server.client({ maxAttempts });
      let lost = 0;
      // Inside the retry loop (deserialize step): every attempt reaches dynalite, only the first answer is lost.
      writer.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          if (lost++ > 0) return result;
          throw Object.assign(new Error('answer lost'), {
            name: 'InternalServerError',
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
          });
        },
        { step: 'deserialize', name: 'loseFirstAnswer' },
      );
      return writer;
    };
    const ask = (writer: DynamoDBClient, nowMs: number) =>
      requestHandover(
        { ...target, writer },
        { holderId: 'i-b', fencingToken: 2, leaseExpiresAtMs: lease.expiresAtMs, to: 'i-a', nowMs },
      );
    const once = losingAnswers(1);
    const retrying = losingAnswers(3);
    try {
      // Act
      const first = await ask(once, NOW + 7_000);
      await withdrawHandover(target, { to: 'i-a', requestedAtMs: first.requestedAtMs });
      const second = await ask(retrying, NOW + 8_000);
      // Assess
      assert.equal(first.written, 'yes');
      assert.equal(second.written, 'yes');
      assert.deepEqual((await server.readLease())?.handover, {
        to: 'i-a',
        requestedAtMs: NOW + 8_000,
        expiresAtMs: lease.expiresAtMs + HANDOVER_VALID_MS,
      });
      await withdrawHandover(target, { to: 'i-a', requestedAtMs: second.requestedAtMs });
    } finally {
      once.destroy();
      retrying.destroy();
    }
  });

  it('is of unknown outcome when its answer was lost and it is not on the item', async () => {
    // Prepare: the write never reaches dynalite (the connection failed before it was sent, as far as anyone knows).
    const lease = await server.readLease();
    assert.ok(lease);
    const writer = server.client({ maxAttempts: 1 });
    writer.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      },
      { step: 'finalizeRequest', name: 'neverSent' },
    );
    try {
      // Act
      const request = await requestHandover(
        { ...target, writer },
        {
          holderId: 'i-b',
          fencingToken: 2,
          leaseExpiresAtMs: lease.expiresAtMs,
          to: 'i-a',
          nowMs: NOW + 9_000,
        },
      );
      // Assess
      assert.equal(request.written, 'unknown');
      assert.equal((await server.readLease())?.handover, undefined);
    } finally {
      writer.destroy();
    }
  });

  it('does not outlive its generation: a takeover by expiry removes a request the holder never acted on', async () => {
    // Prepare: a request to i-a stands when i-b stops renewing (crashed, say).
    const lease = await server.readLease();
    assert.ok(lease);
    await requestHandover(target, {
      holderId: 'i-b',
      fencingToken: 2,
      leaseExpiresAtMs: lease.expiresAtMs,
      to: 'i-a',
      nowMs: NOW + 6_000,
    });
    // Act: a standby takes the expired lease.
    await store.acquire({
      replaces: { kind: 'version', fencingToken: 2, expiresAtMs: lease.expiresAtMs },
      holderId: 'i-c',
      expiresAtMs: NOW + 30_000,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [],
    });
    // Assess
    const taken = await server.readLease();
    assert.equal(taken?.holderId, 'i-c');
    assert.equal(taken?.handover, undefined);
  });
});
