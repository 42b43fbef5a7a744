import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DescribeInstancesCommand, DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { FenceError } from '../../../ec2/sidecar/fence/fencer';
import type { DataDirectory } from '../../../ec2/sidecar/postgres/data-directory';
import type { PostgresExit, PostgresServer } from '../../../ec2/sidecar/postgres/postgres-server';
import { ec2Promoter } from '../../../ec2/sidecar/promote/ec2-promoter';
import type { Promoter } from '../../../ec2/sidecar/promote/promoter';
import { runSidecar, type SidecarOutcome } from '../../../ec2/sidecar/sidecar';
import { LeaseConflictError, type LeaseStore } from '../../../shared/lease-table/holder-writes';
import type { LeaseObservation } from '../../../shared/lease-table/lease-item';
import { createLogger } from '../../../shared/logger';
import { FakeClock, settle } from './fake-clock';

const timing = { ttlMs: 10_000, renewIntervalMs: 2_000, selfFenceMarginMs: 3_000, clockSkewMs: 500 };

/** Every port faked; `calls` records the order of the acts that matter for safety. */
function world(options: {
  lease: LeaseObservation;
  fenceFails?: boolean;
  renewal?: 'ok' | 'refused' | 'hang';
  promoter?: Promoter;
  probe?: () => boolean;
  syncOk?: boolean;
  killOk?: boolean;
  recordedToken?: number;
  /** The data directory's maintenance marker, read at each look (undefined: none). */
  maintenance?: () => string | undefined;
  /** Each renewal's answer carries this handover request (valid for 30 s from the renewal). */
  handoverTo?: string;
  /**
   * How long a fast shutdown takes (a long checkpoint); PostgreSQL refuses connections meanwhile, as the real one
   * does. Like the real stopCleanly, it kills instead past its timeout or once the lease is no longer valid.
   */
  shutdownTakesMs?: number;
  heartbeatFails?: boolean;
  /** PostgreSQL never comes to accept connections (crash recovery that hangs). */
  neverReady?: boolean;
  /** PGDATA holds a database (PG_VERSION); default true. */
  initialized?: boolean;
}) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const releases: Parameters<LeaseStore['release']>[0][] = [];
  const acquisitions: Parameters<LeaseStore['acquire']>[0][] = [];
  const renewals: Parameters<LeaseStore['renew']>[0][] = [];
  const beats: { atMonoMs: number; seenLeaseExpiresAtMs: number }[] = [];
  let shuttingDown = false;
  let exit: (value: PostgresExit) => void = () => {};
  const store: LeaseStore = {
    read: async () => options.lease,
    acquire: async (input) => {
      const { replaces, seedToken } = input;
      acquisitions.push(input);
      calls.push('acquire');
      return replaces.kind === 'version' ? replaces.fencingToken + 1 : seedToken;
    },
    fenceAllDone: async () => {
      calls.push('fence-all-done');
    },
    renew: async (input) => {
      renewals.push(input);
      if (options.renewal === 'refused') throw new LeaseConflictError('taken');
      if (options.renewal === 'hang') await new Promise(() => {});
      const { handoverTo } = options;
      return handoverTo === undefined
        ? undefined
        : {
            holderId: 'i-self',
            fencingToken: 1,
            expiresAtMs: clock.wallMs() + 10_000,
            handover: { to: handoverTo, requestedAtMs: clock.wallMs(), expiresAtMs: clock.wallMs() + 30_000 },
          };
    },
    publishPrimary: async () => {
      calls.push('publish');
    },
    release: async (input) => {
      releases.push(input);
      calls.push('release');
    },
  };
  const postgres: PostgresServer = {
    start: () => {
      calls.push('start');
      return new Promise<PostgresExit>((resolve) => {
        exit = resolve;
      });
    },
    waitUntilReady: async (keepWaiting) => {
      while (options.neverReady && keepWaiting()) await clock.sleep(100);
      return keepWaiting();
    },
    probe: async () => !shuttingDown && (options.probe?.() ?? true),
    kill: async () => {
      calls.push('kill');
      if (options.killOk === false) return false;
      exit({ code: null, signal: 'SIGKILL' });
      return true;
    },
    stopCleanly: async ({ timeoutMs, keepWaiting }) => {
      calls.push('stop-cleanly');
      shuttingDown = true;
      const startedMs = clock.monoMs();
      while (clock.monoMs() - startedMs < (options.shutdownTakesMs ?? 0)) {
        if (clock.monoMs() - startedMs > timeoutMs || !keepWaiting()) {
          calls.push('kill');
          exit({ code: null, signal: 'SIGKILL' });
          return 'killed';
        }
        await clock.sleep(50);
      }
      exit({ code: 0, signal: null });
      return 'clean';
    },
  };
  const dataDirectory: DataDirectory = {
    recordedToken: () => options.recordedToken ?? 0,
    syncFileSystem: async () => {
      calls.push('syncfs');
      return options.syncOk === false ? { ok: false, error: new Error('EIO') } : { ok: true };
    },
    isInitialized: () => options.initialized ?? true,
    maintenance: () => options.maintenance?.(),
    initialize: async () => {
      calls.push('initdb');
    },
    claim: (token) => calls.push(`claim ${token}`),
  };
  const shutdown = new AbortController();
  let outcome: SidecarOutcome | undefined;
  const done = runSidecar({
    selfId: 'i-self',
    timing,
    standbyPollMs: 500,
    cleanShutdownTimeoutMs: 30_000,
    routeRecheckMs: 30_000,
    promotionDeadlineMs: 20_000,
    startDeadlineMs: 60_000,
    probeFailuresAllowed: 2,
    store,
    heartbeat: {
      beat: async (seenLeaseExpiresAtMs) => {
        beats.push({ atMonoMs: clock.monoMs(), seenLeaseExpiresAtMs });
        if (options.heartbeatFails) throw new Error('store unavailable');
      },
    },
    fencer: {
      fence: async (peerId) => {
        calls.push(`fence ${peerId}`);
        if (options.fenceFails) throw new FenceError('EC2 unreachable');
      },
      fenceAllOthers: async () => {
        calls.push('fence-all');
        if (options.fenceFails) throw new FenceError('EC2 unreachable');
      },
    },
    promoter: options.promoter ?? {
      promote: async () => {
        calls.push('promote');
      },
    },
    postgres,
    dataDirectory,
    clock,
    logger: createLogger('test', 'silent'),
    shutdown: shutdown.signal,
  }).then((value) => {
    outcome = value;
  });
  return {
    clock,
    calls,
    releases,
    acquisitions,
    renewals,
    beats,
    outcome: () => outcome,
    crashPostgres: () => exit({ code: null, signal: 'SIGKILL' }),
    sigterm: () => shutdown.abort(),
    done,
  };
}

const expiredPeerLease: LeaseObservation = {
  kind: 'present',
  record: { holderId: 'i-old', fencingToken: 4, expiresAtMs: 0 },
};

describe('runSidecar', () => {
  it('fences the expired holder, then takes the lease, then starts PostgreSQL, then promotes', async () => {
    // Act: the lease has to stay unchanged for TTL + margin (10.5 s) on this observer's clock first.
    const w = world({ lease: expiredPeerLease });
    await w.clock.advance(10_400);
    const early = [...w.calls];
    await w.clock.advance(700);
    // Assess
    assert.deepEqual(early, []);
    assert.deepEqual(w.calls, ['fence i-old', 'acquire', 'claim 5', 'start', 'promote', 'publish']);
    w.sigterm();
    await w.done;
  });

  it('neither fences nor takes an expired lease while the data directory is in maintenance, then does once it ends', async () => {
    // Prepare: a restore is replacing the data directory.
    let marker: string | undefined = 'restore by operator';
    const w = world({ lease: expiredPeerLease, maintenance: () => marker });
    // Act
    await w.clock.advance(13_000);
    const during = [...w.calls];
    marker = undefined;
    await w.clock.advance(1_000);
    // Assess
    assert.deepEqual(during, []);
    assert.deepEqual(w.calls, ['fence i-old', 'acquire', 'claim 5', 'start', 'promote', 'publish']);
    w.sigterm();
    await w.done;
  });

  it('does not start PostgreSQL when the marker appears after its take: releases the lease instead', async () => {
    // Prepare: no marker when the standby decides, one by the time it would start PostgreSQL.
    let looks = 0;
    const w = world({ lease: expiredPeerLease, maintenance: () => (++looks > 1 ? 'restore' : undefined) });
    // Act
    await w.clock.advance(11_100);
    // Assess
    assert.deepEqual(w.calls.slice(0, 3), ['fence i-old', 'acquire', 'syncfs']);
    assert.ok(!w.calls.includes('start'));
    assert.equal(w.releases.length, 1);
    w.sigterm();
    await w.done;
  });

  it('does not take the lease while the fence is unconfirmed', async () => {
    // Act
    const w = world({ lease: expiredPeerLease, fenceFails: true });
    await w.clock.advance(13_000);
    // Assess
    assert.ok(w.calls.length > 1, 'retried');
    assert.ok(w.calls.every((call) => call === 'fence i-old'));
    w.sigterm();
    await w.done;
    assert.equal(w.outcome(), 'shutdown');
  });

  it('waits, touching nothing, while a peer holds a valid lease', async () => {
    // Act
    const w = world({
      lease: {
        kind: 'present',
        record: { holderId: 'i-peer', fencingToken: 2, expiresAtMs: Number.MAX_SAFE_INTEGER },
      },
    });
    await w.clock.advance(5_000);
    w.sigterm();
    await w.done;
    // Assess
    assert.deepEqual(w.calls, []);
    assert.equal(w.outcome(), 'shutdown');
  });

  it('writes a heartbeat every 5 s while it waits, with the lease expiry it read; a failed one changes nothing', async () => {
    // Prepare: a peer holds the lease; one standby's heartbeats all fail.
    const held: LeaseObservation = {
      kind: 'present',
      record: { holderId: 'i-peer', fencingToken: 2, expiresAtMs: 1_500 },
    };
    const w = world({ lease: held });
    const failing = world({ lease: held, heartbeatFails: true });
    // Act: 10 s, short of the 10.5 s after which the unchanged lease counts as expired.
    await w.clock.advance(10_000);
    await failing.clock.advance(10_000);
    w.sigterm();
    failing.sigterm();
    await Promise.all([w.done, failing.done]);
    // Assess
    assert.deepEqual(w.beats, [
      { atMonoMs: 0, seenLeaseExpiresAtMs: 1_500 },
      { atMonoMs: 5_000, seenLeaseExpiresAtMs: 1_500 },
      { atMonoMs: 10_000, seenLeaseExpiresAtMs: 1_500 },
    ]);
    assert.equal(failing.beats.length, 3);
    assert.deepEqual([w.calls, failing.calls], [[], []]);
    assert.deepEqual([w.outcome(), failing.outcome()], ['shutdown', 'shutdown']);
  });

  it('kills PostgreSQL and ends the run when a renewal is refused', async () => {
    // Act
    const w = world({ lease: { kind: 'absent' }, renewal: 'refused' });
    await w.clock.advance(2_000);
    await w.done;
    // Assess
    assert.deepEqual(w.calls.slice(-1), ['kill']);
    assert.ok(!w.calls.includes('release'), 'a lost lease is not released');
    assert.equal(w.outcome(), 'self-fenced');
  });

  it('kills PostgreSQL at the self-fence deadline when the store stops answering', async () => {
    // Prepare: the lease is stamped at t=0; every renewal hangs.
    const w = world({ lease: { kind: 'absent' }, renewal: 'hang' });
    // Act
    await w.clock.advance(6_999);
    const before = [...w.calls];
    await w.clock.advance(1);
    await w.done;
    // Assess
    assert.ok(!before.includes('kill'));
    assert.deepEqual(w.calls.slice(-1), ['kill']);
    assert.equal(w.outcome(), 'self-fenced');
  });

  it('on SIGTERM stops PostgreSQL cleanly, then releases the lease', async () => {
    // Prepare
    const w = world({ lease: { kind: 'absent' } });
    await w.clock.advance(100);
    // Act
    w.sigterm();
    await w.done;
    // Assess
    assert.deepEqual(w.calls.slice(-3), ['stop-cleanly', 'syncfs', 'release']);
    assert.equal(w.outcome(), 'shutdown');
  });

  it('on a handover request in a renewal answer: fast shutdown, sync, then a release naming the standby', async () => {
    // Prepare: every renewal answer asks for a handover to i-next.
    const w = world({ lease: { kind: 'absent' }, handoverTo: 'i-next' });
    // Act: the first renewal is 2 s after the take.
    await w.clock.advance(2_100);
    await w.done;
    // Assess: PostgreSQL stopped before the lease was released, and never killed.
    assert.deepEqual(w.calls.slice(-3), ['stop-cleanly', 'syncfs', 'release']);
    assert.ok(!w.calls.includes('kill'));
    assert.equal(w.releases[0]?.handedOverTo, 'i-next');
    assert.ok((w.releases[0]?.writesStoppedAtMs ?? 0) <= (w.releases[0]?.releasedAtMs ?? 0));
    assert.equal(w.outcome(), 'handed-over');
  });

  it('keeps renewing through a slow fast shutdown, whose refused probes do not count, then hands over', async () => {
    // Prepare: the shutdown takes 15 s (longer than the TTL, and than the probe failures allowed).
    const w = world({ lease: { kind: 'absent' }, handoverTo: 'i-next', shutdownTakesMs: 15_000 });
    // Act
    await w.clock.advance(2_100);
    const stopRequestedAtMs = w.clock.wallMs() - 100;
    await w.clock.advance(16_000);
    await w.done;
    // Assess: never killed, the lease released to i-next, and the stop published with every renewal meanwhile.
    assert.deepEqual(w.calls.slice(-3), ['stop-cleanly', 'syncfs', 'release']);
    assert.ok(!w.calls.includes('kill'));
    assert.equal(w.releases[0]?.handedOverTo, 'i-next');
    const during = w.renewals.filter((r) => r.writesStoppedAtMs !== undefined);
    assert.ok(during.length >= 7, `renewals during the stop: ${during.length}`);
    assert.ok(
      during.every((r) => r.writesStoppedAtMs === stopRequestedAtMs && r.postgresAnswering === undefined),
    );
    assert.equal(w.outcome(), 'handed-over');
  });

  it('reports a planned stop that released nothing as such, not as a handover or a shutdown', async () => {
    // Prepare: the writeback cannot be confirmed, so the lease must not be released.
    const handover = world({ lease: { kind: 'absent' }, handoverTo: 'i-next', syncOk: false });
    const sigterm = world({ lease: { kind: 'absent' }, syncOk: false });
    // Act
    await handover.clock.advance(2_100);
    await handover.done;
    await sigterm.clock.advance(100);
    sigterm.sigterm();
    await sigterm.clock.advance(100);
    await sigterm.done;
    // Assess
    assert.deepEqual(handover.releases, []);
    assert.deepEqual(sigterm.releases, []);
    assert.equal(handover.outcome(), 'stopped-unreleased');
    assert.equal(sigterm.outcome(), 'stopped-unreleased');
  });

  it('ignores a handover request that names itself', async () => {
    // Prepare
    const w = world({ lease: { kind: 'absent' }, handoverTo: 'i-self' });
    // Act
    await w.clock.advance(6_100);
    // Assess: still holding (renewing) after three renewals.
    assert.equal(w.outcome(), undefined);
    assert.ok(!w.calls.includes('stop-cleanly'));
    w.sigterm();
    await w.done;
    assert.equal(w.releases[0]?.handedOverTo, undefined);
  });

  it('takes a lease handed over to it without fencing, and records the takeover with the previous holder', async () => {
    // Prepare: i-old stopped at t0 and released the lease, naming this instance.
    const w = world({
      lease: {
        kind: 'present',
        record: {
          holderId: 'i-old',
          fencingToken: 4,
          expiresAtMs: 0,
          handedOverTo: 'i-self',
          writesStoppedAtMs: 1_700_000_000_000,
          releasedAtMs: 1_700_000_000_100,
          takeovers: [
            { holderId: 'i-old', fencingToken: 4, reason: 'expired', fenced: 'holder', acquiredAtMs: 1 },
          ],
        },
      },
    });
    // Act
    await w.clock.advance(100);
    w.sigterm();
    await w.done;
    // Assess
    assert.ok(!w.calls.some((call) => call.startsWith('fence')));
    assert.deepEqual(w.calls.slice(0, 2), ['acquire', 'claim 5']);
    assert.deepEqual(
      w.acquisitions[0]?.takeovers.map(({ holderId, reason, fenced, previousHolderId }) => ({
        holderId,
        reason,
        fenced,
        previousHolderId,
      })),
      [
        { holderId: 'i-old', reason: 'expired', fenced: 'holder', previousHolderId: undefined },
        { holderId: 'i-self', reason: 'handover', fenced: 'none', previousHolderId: 'i-old' },
      ],
    );
    assert.equal(w.acquisitions[0]?.takeovers[1]?.previousWritesStoppedAtMs, 1_700_000_000_000);
  });

  it('when PostgreSQL dies under it, kills what is left, releases the lease and steps down', async () => {
    // Prepare
    const w = world({ lease: { kind: 'absent' } });
    await w.clock.advance(100);
    // Act
    w.crashPostgres();
    await settle();
    await w.done;
    // Assess
    assert.deepEqual(w.calls.slice(-3), ['kill', 'syncfs', 'release']);
    assert.equal(w.outcome(), 'postgres-exited');
  });

  it('with no lease item, takes it seeded from the token on disk and fences everyone else before starting', async () => {
    // Act
    const w = world({ lease: { kind: 'absent' }, recordedToken: 41 });
    await w.clock.advance(100);
    // Assess
    assert.deepEqual(w.calls, [
      'acquire',
      'fence-all',
      'fence-all-done',
      'claim 42',
      'start',
      'promote',
      'publish',
    ]);
    w.sigterm();
    await w.done;
  });

  it('with a malformed item, never starts PostgreSQL while fencing the others is unconfirmed, nor releases', async () => {
    // Act
    const w = world({ lease: { kind: 'malformed' }, fenceFails: true });
    await w.clock.advance(3_000);
    w.sigterm();
    await w.done;
    // Assess
    assert.deepEqual([...new Set(w.calls)], ['acquire', 'fence-all']);
    assert.equal(w.outcome(), 'shutdown');
  });

  it('takes back at once a lease an earlier run of this instance held, after making sure none of its PostgreSQL is left', async () => {
    // Act
    const w = world({
      lease: {
        kind: 'present',
        record: { holderId: 'i-self', fencingToken: 9, expiresAtMs: Number.MAX_SAFE_INTEGER },
      },
    });
    await w.clock.advance(100);
    // Assess
    assert.deepEqual(w.calls, ['kill', 'acquire', 'claim 10', 'start', 'promote', 'publish']);
    w.sigterm();
    await w.done;
  });

  it('judges expiry on its own monotonic clock: wall-clock steps either way change nothing', async () => {
    for (const step of [5 * 60_000, -5 * 60_000]) {
      // Prepare: a peer's lease stamped "now" by the wall clock, never renewed.
      const w = world({
        lease: {
          kind: 'present',
          record: { holderId: 'i-peer', fencingToken: 2, expiresAtMs: 1_800_000_010_000 },
        },
      });
      // Act
      w.clock.stepWall(step);
      await w.clock.advance(10_400);
      const beforeExpiry = [...w.calls];
      await w.clock.advance(700);
      // Assess
      assert.deepEqual(beforeExpiry, [], `step ${step}`);
      assert.deepEqual(w.calls.slice(0, 2), ['fence i-peer', 'acquire'], `step ${step}`);
      w.sigterm();
      await w.done;
    }
  });

  it('steps down when PostgreSQL stops answering its probes: renewing stops, PostgreSQL killed, lease released', async () => {
    // Prepare
    let answering = true;
    const w = world({ lease: { kind: 'absent' }, probe: () => answering });
    await w.clock.advance(100);
    // Act: a probe during every renewal interval (2 s) from the next one on; two failures tolerated, the third ends it.
    answering = false;
    await w.clock.advance(8_000);
    await w.done;
    // Assess
    assert.deepEqual(w.calls.slice(-3), ['kill', 'syncfs', 'release']);
    assert.equal(w.outcome(), 'postgres-unhealthy');
  });

  it('does not release when the writeback cannot be confirmed, nor when PostgreSQL cannot be killed', async () => {
    for (const failure of [{ syncOk: false }, { killOk: false }]) {
      // Prepare
      const w = world({ lease: { kind: 'absent' }, ...failure });
      await w.clock.advance(100);
      // Act
      w.crashPostgres();
      await settle();
      await w.done;
      // Assess
      assert.ok(!w.calls.includes('release'), JSON.stringify(failure));
      assert.equal(w.outcome(), 'postgres-exited');
    }
  });

  it('never initialises an empty PGDATA where the lease history says a primary served: releases, exits 78', async () => {
    // Prepare: an expired lease whose history shows a served primary, and no database on the storage.
    const lease: LeaseObservation = {
      kind: 'present',
      record: {
        ...expiredPeerLease.record,
        takeovers: [
          {
            holderId: 'i-old',
            fencingToken: 4,
            reason: 'released',
            fenced: 'none',
            acquiredAtMs: 1,
            primarySinceMs: 2,
          },
        ],
      },
    };
    const w = world({ lease, initialized: false });
    // Act
    await w.clock.advance(20_000);
    await w.done;
    // Assess
    assert.ok(!w.calls.includes('initdb') && !w.calls.includes('start'), w.calls.join(', '));
    assert.equal(w.calls.at(-1), 'release');
    assert.equal(w.outcome(), 'database-missing');
  });

  it('initialises an empty PGDATA on a first boot (no primary in the lease history)', async () => {
    // Prepare
    const w = world({ lease: { kind: 'absent' }, initialized: false });
    // Act
    await w.clock.advance(5_000);
    // Assess
    assert.ok(w.calls.indexOf('initdb') < w.calls.indexOf('start'), w.calls.join(', '));
  });

  it('steps down when PostgreSQL does not accept connections by the start deadline, renewing until then', async () => {
    // Prepare: crash recovery that never ends.
    const w = world({ lease: { kind: 'absent' }, neverReady: true });
    // Act
    await w.clock.advance(59_000);
    const beforeDeadline = [...w.calls];
    const renewalsBefore = w.renewals.length;
    await w.clock.advance(1_200);
    await w.done;
    // Assess: the lease was kept while PostgreSQL started, then PostgreSQL killed, synced and released.
    assert.ok(!beforeDeadline.includes('kill'));
    assert.ok(renewalsBefore > 20, 'renewed while PostgreSQL started');
    assert.deepEqual(w.calls.slice(-3), ['kill', 'syncfs', 'release']);
    assert.ok(!w.calls.includes('promote'));
    assert.equal(w.outcome(), 'start-failed');
  });

  it('steps down when EC2 keeps throttling the promotion past the deadline (SDK boundary)', async () => {
    // Prepare: the real EC2 promoter, EC2 answering every call with throttling or a 5xx.
    const ec2Mock = mockClient(EC2Client);
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'RequestLimitExceeded', $fault: 'client' }));
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .rejects(Object.assign(new Error('oops'), { name: 'InternalError', $fault: 'server' }));
    const promoter = ec2Promoter({
      ec2: new EC2Client({ region: 'eu-west-1' }),
      logger: createLogger('test', 'silent'),
      instanceId: 'i-self',
      virtualIp: '10.10.10.10',
      routeTableIds: ['rtb-a'],
    });
    try {
      const w = world({ lease: { kind: 'absent' }, promoter });
      // Act
      await w.clock.advance(19_000);
      const beforeDeadline = [...w.calls];
      await w.clock.advance(1_200);
      await w.done;
      // Assess: retried until the deadline (20 s after ready), never published, then killed and released.
      assert.ok(!beforeDeadline.includes('kill'));
      assert.ok(ec2Mock.commandCalls(DescribeInstancesCommand).length > 10, 'kept retrying');
      assert.deepEqual(w.calls.slice(-3), ['kill', 'syncfs', 'release']);
      assert.ok(!w.calls.includes('publish'));
      assert.equal(w.outcome(), 'promotion-failed');
    } finally {
      ec2Mock.restore();
    }
  });
});
