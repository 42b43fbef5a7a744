import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fencer } from '../../../ec2/sidecar/fence/fencer';
import { keepLease } from '../../../ec2/sidecar/lease/lease-keeper';
import { leaseMetrics, measuredFencer, measuredLeaseStore } from '../../../ec2/sidecar/metrics/lease-metrics';
import {
  LeaseConflictError,
  type LeaseStore,
  LeaseStoreError,
} from '../../../shared/lease-table/holder-writes';
import { createLogger } from '../../../shared/logger';
import { FakeClock } from './fake-clock';

const timing = { ttlMs: 10_000, renewIntervalMs: 2_000, selfFenceMarginMs: 3_000, clockSkewMs: 500 };
const logger = createLogger('test', 'silent');
const NAMESPACE = 'cloudy/dev';
// What the fake store's renewal takes, on the fake clock.
const RENEW_MS = 15;

type Line = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
};

/** The lines written, each checked against the EMF specification's rules for the root node. */
function collect(clock: FakeClock) {
  const lines: Line[] = [];
  const metrics = leaseMetrics({
    namespace: NAMESPACE,
    instanceId: 'i-self',
    clock,
    write: (text) => {
      assert.doesNotMatch(text, /\n/, 'one line per document');
      const line = JSON.parse(text) as Line;
      assert.ok(Number.isInteger(line._aws.Timestamp));
      for (const directive of line._aws.CloudWatchMetrics) {
        for (const key of directive.Dimensions.flat()) assert.equal(typeof line[key], 'string', key);
        for (const { Name } of directive.Metrics) {
          const value = line[Name];
          const numbers = Array.isArray(value) ? value : [value];
          assert.ok(numbers.length > 0 && numbers.length <= 100, Name);
          for (const n of numbers) assert.equal(typeof n, 'number', Name);
        }
      }
      lines.push(line);
    },
  });
  return { metrics, lines };
}

const values = (line: Line | undefined) =>
  Object.fromEntries(
    (line?._aws.CloudWatchMetrics[0]?.Metrics ?? []).map(({ Name }) => [Name, line?.[Name]]),
  );

function fakeStore(clock: FakeClock, renew: () => 'ok' | 'unavailable' | 'conflict') {
  const store: LeaseStore = {
    read: async () => ({ kind: 'absent' }),
    acquire: async () => 7,
    publishPrimary: async () => {},
    release: async () => {},
    fenceAllDone: async () => {},
    renew: async () => {
      await clock.sleep(RENEW_MS);
      const outcome = renew();
      if (outcome === 'unavailable') throw new LeaseStoreError('timeout');
      if (outcome === 'conflict') throw new LeaseConflictError('taken');
      return undefined;
    },
  };
  return store;
}

function hold(clock: FakeClock, store: LeaseStore) {
  return keepLease({
    store,
    clock,
    logger,
    holderId: 'i-self',
    fencingToken: 7,
    selfFenceAtMonoMs: clock.monoMs() + timing.ttlMs - timing.selfFenceMarginMs,
    expiresAtMs: clock.wallMs() + timing.ttlMs,
    timing,
  });
}

describe('lease metrics', () => {
  it("writes one line a minute from the holder, with every renewal's latency and LeaseHeld", async () => {
    // Prepare
    const clock = new FakeClock();
    const { metrics, lines } = collect(clock);
    const keeper = hold(
      clock,
      measuredLeaseStore(
        fakeStore(clock, () => 'ok'),
        metrics,
        clock,
      ),
    );
    // Act
    await clock.advance(59_000);
    const beforeAMinute = lines.length;
    await clock.advance(2_100);
    keeper.stop();
    // Assess
    assert.equal(beforeAMinute, 0);
    assert.equal(lines.length, 1);
    const line = lines[0] as Line;
    assert.equal(line._aws.CloudWatchMetrics[0]?.Namespace, NAMESPACE);
    assert.deepEqual(line._aws.CloudWatchMetrics[0]?.Dimensions, [[], ['InstanceId']]);
    assert.equal(line.InstanceId, 'i-self');
    const { LeaseRenewLatency, ...rest } = values(line);
    assert.deepEqual(rest, { LeaseRenewFailures: 0, LeaseHeld: 1 });
    assert.ok(Array.isArray(LeaseRenewLatency) && LeaseRenewLatency.length === 30, String(LeaseRenewLatency));
    assert.ok(LeaseRenewLatency.every((ms) => ms === RENEW_MS));
  });

  it('reports a failed renewal at once, whether the store was away or the lease was taken', async () => {
    // Prepare
    const clock = new FakeClock();
    const { metrics, lines } = collect(clock);
    const outcomes: ('ok' | 'unavailable' | 'conflict')[] = ['ok', 'unavailable', 'conflict'];
    const keeper = hold(
      clock,
      measuredLeaseStore(
        fakeStore(clock, () => outcomes.shift() ?? 'ok'),
        metrics,
        clock,
      ),
    );
    // Act
    await clock.advance(6_100);
    keeper.stop();
    // Assess
    assert.deepEqual(lines.map(values), [{ LeaseRenewFailures: 1 }, { LeaseRenewFailures: 1 }]);
  });

  it('counts every acquisition as a takeover, and one after a confirmed fence as a fenced takeover', async () => {
    // Prepare
    const clock = new FakeClock();
    const { metrics, lines } = collect(clock);
    let raceLost = false;
    const store = measuredLeaseStore(
      {
        ...fakeStore(clock, () => 'ok'),
        acquire: async () => {
          if (raceLost) throw new LeaseConflictError('another standby was first');
          return 8;
        },
      },
      metrics,
      clock,
    );
    const fencer = measuredFencer<Fencer>({ fence: async () => {}, fenceAllOthers: async () => {} }, metrics);
    const replaces = { kind: 'absent' } as const;
    // Act
    await store.acquire({
      replaces,
      holderId: 'i-self',
      expiresAtMs: 1,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [],
    }); // first start or a released lease
    await fencer.fence('i-peer');
    await store.acquire({
      replaces,
      holderId: 'i-self',
      expiresAtMs: 1,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [],
    }); // a failover
    await fencer.fence('i-peer');
    raceLost = true;
    await assert.rejects(
      store.acquire({
        replaces,
        holderId: 'i-self',
        expiresAtMs: 1,
        seedToken: 1,
        fenceAllPending: false,
        takeovers: [],
      }),
      LeaseConflictError,
    );
    raceLost = false;
    await store.acquire({
      replaces,
      holderId: 'i-self',
      expiresAtMs: 1,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [],
    }); // judged on its own
    // Assess
    assert.deepEqual(lines.map(values), [
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 0 },
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 1 },
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 0 },
    ]);
  });
  it("counts a take that fences every other instance (the item deleted or corrupt) as a fenced takeover, not the stage's first", async () => {
    // Prepare
    const clock = new FakeClock();
    const { metrics, lines } = collect(clock);
    const store = measuredLeaseStore(
      fakeStore(clock, () => 'ok'),
      metrics,
      clock,
    );
    const take = { holderId: 'i-self', expiresAtMs: 1, fenceAllPending: true, takeovers: [] };
    // Act
    await store.acquire({ ...take, replaces: { kind: 'absent' }, seedToken: 1 }); // the stage's first start
    await store.acquire({ ...take, replaces: { kind: 'absent' }, seedToken: 8 }); // item deleted after token 7
    await store.acquire({ ...take, replaces: { kind: 'malformed' }, seedToken: 1 }); // item corrupt
    await store.acquire({
      ...take,
      replaces: { kind: 'version', fencingToken: 8, expiresAtMs: 1 },
      seedToken: 1,
    }); // its holder died before fencing them all
    // Assess
    assert.deepEqual(lines.map(values), [
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 0 },
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 1 },
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 1 },
      { LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 1 },
    ]);
  });
});
