import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../ec2/lib/logger';
import { FenceError } from '../../../ec2/sidecar/fence/fencer';
import type { LeaseObservation } from '../../../ec2/sidecar/lease/lease-decisions';
import { LeaseConflictError, type LeaseStore } from '../../../ec2/sidecar/lease/lease-store';
import type { DataDirectory } from '../../../ec2/sidecar/postgres/data-directory';
import type { PostgresExit, PostgresServer } from '../../../ec2/sidecar/postgres/postgres-server';
import { runSidecar, type SidecarOutcome } from '../../../ec2/sidecar/sidecar';
import { FakeClock, settle } from './fake-clock';

const timing = { ttlMs: 10_000, renewIntervalMs: 2_000, selfFenceMarginMs: 3_000, clockSkewMs: 500 };

/** Every port faked; `calls` records the order of the acts that matter for safety. */
function world(options: {
  lease: LeaseObservation;
  fenceFails?: boolean;
  renewal?: 'ok' | 'refused' | 'hang';
}) {
  const clock = new FakeClock();
  const calls: string[] = [];
  let exit: (value: PostgresExit) => void = () => {};
  const store: LeaseStore = {
    read: async () => options.lease,
    acquire: async ({ replaces }) => {
      calls.push('acquire');
      return replaces.kind === 'absent' ? 1 : replaces.fencingToken + 1;
    },
    renew: async () => {
      if (options.renewal === 'refused') throw new LeaseConflictError('taken');
      if (options.renewal === 'hang') await new Promise(() => {});
    },
    publishPrimary: async () => {
      calls.push('publish');
    },
    release: async () => {
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
    waitUntilReady: async () => true,
    kill: async () => {
      calls.push('kill');
      exit({ code: null, signal: 'SIGKILL' });
    },
    stopCleanly: async () => {
      calls.push('stop-cleanly');
      exit({ code: 0, signal: null });
      return 'clean';
    },
  };
  const dataDirectory: DataDirectory = {
    isInitialized: () => true,
    initialize: async () => {},
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
    store,
    fencer: {
      fence: async (peerId) => {
        calls.push(`fence ${peerId}`);
        if (options.fenceFails) throw new FenceError('EC2 unreachable');
      },
    },
    promoter: {
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
    // Act
    const w = world({ lease: expiredPeerLease });
    await w.clock.advance(100);
    // Assess
    assert.deepEqual(w.calls, ['fence i-old', 'acquire', 'claim 5', 'start', 'promote', 'publish']);
    w.sigterm();
    await w.done;
  });

  it('does not take the lease while the fence is unconfirmed', async () => {
    // Act
    const w = world({ lease: expiredPeerLease, fenceFails: true });
    await w.clock.advance(2_000);
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
    assert.deepEqual(w.calls.slice(-2), ['stop-cleanly', 'release']);
    assert.equal(w.outcome(), 'shutdown');
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
    assert.deepEqual(w.calls.slice(-2), ['kill', 'release']);
    assert.equal(w.outcome(), 'postgres-exited');
  });
});
