import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keepLease, type LossReason } from '../../../ec2/sidecar/lease/lease-keeper';
import {
  LeaseConflictError,
  type LeaseStore,
  LeaseStoreError,
} from '../../../shared/lease-table/holder-writes';
import { createLogger } from '../../../shared/logger';
import { FakeClock, settle } from './fake-clock';

const timing = { ttlMs: 10_000, renewIntervalMs: 2_000, selfFenceMarginMs: 3_000, clockSkewMs: 500 };
const logger = createLogger('test', 'silent');

type RenewBehaviour = 'ok' | 'conflict' | 'unavailable' | 'hang';

function fakeStore(behaviour: () => RenewBehaviour) {
  const renewals: number[] = [];
  const store: LeaseStore = {
    read: async () => ({ kind: 'absent' }),
    acquire: async () => 1,
    fenceAllDone: async () => {},
    publishPrimary: async () => {},
    release: async () => {},
    renew: async ({ expiresAtMs }) => {
      renewals.push(expiresAtMs);
      const now = behaviour();
      if (now === 'conflict') throw new LeaseConflictError('taken');
      if (now === 'unavailable') throw new LeaseStoreError('timeout');
      if (now === 'hang') await new Promise(() => {});
      return undefined;
    },
  };
  return { store, renewals };
}

function start(clock: FakeClock, store: LeaseStore) {
  const keeper = keepLease({
    store,
    clock,
    logger,
    holderId: 'i-self',
    fencingToken: 3,
    selfFenceAtMonoMs: clock.monoMs() + timing.ttlMs - timing.selfFenceMarginMs,
    expiresAtMs: clock.wallMs() + timing.ttlMs,
    timing,
  });
  let lostReason: LossReason | undefined;
  void keeper.lost.then((reason) => {
    lostReason = reason;
  });
  return { keeper, lost: () => lostReason };
}

describe('keepLease', () => {
  it('publishes each probe answer with the renewal, and passes a handover request on once', async () => {
    // Prepare: every renewal's answer carries a request to hand over to i-next; the second probe fails.
    const clock = new FakeClock();
    const published: (boolean | undefined)[] = [];
    let probes = 0;
    const store: LeaseStore = {
      ...fakeStore(() => 'ok').store,
      renew: async ({ postgresAnswering, expiresAtMs }) => {
        published.push(postgresAnswering);
        return {
          holderId: 'i-self',
          fencingToken: 3,
          expiresAtMs,
          handover: { to: 'i-next', requestedAtMs: clock.wallMs(), expiresAtMs: clock.wallMs() + 30_000 },
        };
      },
    };
    const { keeper, lost } = start(clock, store);
    const requests: string[] = [];
    void keeper.handoverRequested.then((to) => requests.push(to));
    // Act: the renewals at 2 s and 4 s had no probe running (one starts with each interval); 6 s and 8 s did.
    await clock.advance(2_000);
    keeper.watchHealth({ probe: async () => ++probes !== 2, failuresAllowed: 2 });
    await clock.advance(6_000);
    // Assess: renewing goes on (the holder itself stops PostgreSQL and releases).
    assert.deepEqual(published, [undefined, undefined, true, false]);
    assert.deepEqual(requests, ['i-next']);
    assert.equal(keeper.isValid(), true);
    assert.equal(lost(), undefined);
    keeper.stop();
  });

  it('once a planned stop begins, renews without probing and publishes when writes stopped', async () => {
    // Prepare: the server refuses every probe from the moment its shutdown begins (at 4 s).
    const clock = new FakeClock();
    const published: Parameters<LeaseStore['renew']>[0][] = [];
    const store: LeaseStore = {
      ...fakeStore(() => 'ok').store,
      renew: async (input) => {
        published.push(input);
        return undefined;
      },
    };
    const { keeper, lost } = start(clock, store);
    let stopping = false;
    let probes = 0;
    keeper.watchHealth({
      probe: async () => {
        probes += 1;
        return !stopping;
      },
      failuresAllowed: 1,
    });
    let unhealthy = false;
    void keeper.unhealthy.then(() => {
      unhealthy = true;
    });
    await clock.advance(4_000);
    // Act: 30 s of shutdown, three TTLs.
    stopping = true;
    keeper.beginPlannedStop(1_234);
    await clock.advance(30_000);
    // Assess
    assert.equal(keeper.isValid(), true);
    assert.equal(lost(), undefined);
    assert.equal(unhealthy, false);
    assert.equal(probes, 2, 'only the probes started before the stop (at 2 s and 4 s)');
    const during = published.slice(2);
    assert.equal(during.length, 15);
    assert.ok(during.every((r) => r.writesStoppedAtMs === 1_234 && r.postgresAnswering === undefined));
    keeper.stop();
  });

  it('stays valid for as long as renewals succeed', async () => {
    // Prepare
    const clock = new FakeClock();
    const { store, renewals } = fakeStore(() => 'ok');
    const { keeper, lost } = start(clock, store);
    // Act
    await clock.advance(60_000);
    // Assess
    assert.equal(keeper.isValid(), true);
    assert.equal(lost(), undefined);
    assert.equal(renewals.length, 30);
    keeper.stop();
  });

  it('self-fences at the deadline when the store stops answering, not later', async () => {
    // Prepare
    const clock = new FakeClock();
    let behaviour: RenewBehaviour = 'ok';
    const { store } = fakeStore(() => behaviour);
    const { keeper, lost } = start(clock, store);
    await clock.advance(4_000); // last good renewal sent at t=4000: deadline 4000 + 10000 - 3000
    behaviour = 'unavailable';
    // Act
    await clock.advance(6_999);
    const beforeDeadline = { valid: keeper.isValid(), lost: lost() };
    await clock.advance(1);
    // Assess
    assert.deepEqual(beforeDeadline, { valid: true, lost: undefined });
    assert.equal(lost(), 'deadline-passed');
    assert.equal(keeper.isValid(), false);
  });

  it('self-fences at the deadline even while a renewal request hangs', async () => {
    // Prepare
    const clock = new FakeClock();
    const { store } = fakeStore(() => 'hang');
    const { lost } = start(clock, store);
    // Act
    await clock.advance(7_000);
    // Assess
    assert.equal(lost(), 'deadline-passed');
  });

  it('self-fences at once when a renewal is refused (a newer holder exists)', async () => {
    // Prepare
    const clock = new FakeClock();
    const { store } = fakeStore(() => 'conflict');
    const { keeper, lost } = start(clock, store);
    // Act
    await clock.advance(2_000);
    // Assess
    assert.equal(lost(), 'lease-taken');
    assert.equal(keeper.isValid(), false);
  });

  it('a renewal answered after its own deadline (the holder was frozen) extends nothing', async () => {
    // Prepare: the reply to the renewal sent at t=2000 arrives only at t=20000.
    const clock = new FakeClock();
    let release: () => void = () => {};
    const store: LeaseStore = {
      ...fakeStore(() => 'ok').store,
      renew: () =>
        new Promise<undefined>((resolve) => {
          release = () => resolve(undefined);
        }),
    };
    const { lost } = start(clock, store);
    await clock.advance(2_000);
    // Act
    await clock.advance(18_000);
    release();
    await settle();
    // Assess
    assert.equal(lost(), 'deadline-passed');
  });

  it('stops renewing once stopped, and is no longer valid', async () => {
    // Prepare
    const clock = new FakeClock();
    const { store, renewals } = fakeStore(() => 'ok');
    const { keeper, lost } = start(clock, store);
    // Act
    keeper.stop();
    await clock.advance(20_000);
    // Assess
    assert.equal(renewals.length, 0);
    assert.equal(keeper.isValid(), false);
    assert.equal(lost(), undefined);
  });

  it('once watching the server, stops renewing after too many failed probes in a row, then runs out', async () => {
    // Prepare: the server answers twice, then never again; two failures in a row are tolerated.
    const clock = new FakeClock();
    const { store, renewals } = fakeStore(() => 'ok');
    const { keeper, lost } = start(clock, store);
    let answers = 2;
    let unhealthy = false;
    void keeper.unhealthy.then(() => {
      unhealthy = true;
    });
    keeper.watchHealth({ probe: async () => answers-- > 0, failuresAllowed: 2 });
    // Act: the interval under way renews unprobed (2); probes answer in the intervals ending at 4, 6, fail in
    // those ending at 8, 10 (tolerated) and 12 (the third failure).
    await clock.advance(12_000);
    // Assess: renewed at 2, 4, 6, 8, 10, not at 12; valid until its deadline.
    assert.equal(renewals.length, 5);
    assert.equal(unhealthy, true);
    assert.equal(keeper.isValid(), true);
    assert.equal(keeper.remainingMs(), 5_000); // last renewal stamped at 10000: deadline 17000
    await clock.advance(5_000);
    assert.equal(lost(), 'deadline-passed');
  });

  it('each renewal writes a larger expiry than the one before, even when the wall clock steps back', async () => {
    // Prepare
    const clock = new FakeClock();
    const { store, renewals } = fakeStore(() => 'unavailable');
    const { keeper } = start(clock, store);
    await clock.advance(2_000);
    clock.stepWall(-60_000);
    // Act
    await clock.advance(2_000);
    // Assess
    assert.equal(renewals.length, 2);
    assert.ok((renewals[1] ?? 0) > (renewals[0] ?? 0));
    keeper.stop();
  });
});
