import type { Logger } from '../lib/logger';
import type { Clock } from './clock';
import type { Fencer } from './fence/fencer';
import { decideStandby, type LeaseTiming, leaseStamp } from './lease/lease-decisions';
import { keepLease, type LeaseKeeper } from './lease/lease-keeper';
import { LeaseConflictError, type LeaseStore } from './lease/lease-store';
import { type DataDirectory, StaleHolderError } from './postgres/data-directory';
import type { PostgresExit, PostgresServer } from './postgres/postgres-server';
import type { Promoter } from './promote/promoter';

export interface SidecarDeps {
  selfId: string;
  timing: LeaseTiming & { renewIntervalMs: number };
  standbyPollMs: number;
  cleanShutdownTimeoutMs: number;
  routeRecheckMs: number;
  store: LeaseStore;
  fencer: Fencer;
  promoter: Promoter;
  postgres: PostgresServer;
  dataDirectory: DataDirectory;
  clock: Clock;
  logger: Logger;
  /** Aborted on SIGTERM (scale-in, reboot, deploy). */
  shutdown: AbortSignal;
}

/**
 * How a run ended. Every run is one pass standby → holder → end; the process then exits and systemd starts a
 * fresh standby, so a lost lease is never "regained" by a sidecar whose state may be stale.
 */
export type SidecarOutcome = 'shutdown' | 'self-fenced' | 'postgres-exited' | 'stale-holder';

export async function runSidecar(deps: SidecarDeps): Promise<SidecarOutcome> {
  const acquired = await acquireLease(deps);
  if (!acquired) return 'shutdown';
  const keeper = keepLease({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    holderId: deps.selfId,
    fencingToken: acquired.fencingToken,
    selfFenceAtMonoMs: acquired.selfFenceAtMonoMs,
    timing: deps.timing,
  });
  try {
    return await holdLease(deps, keeper);
  } finally {
    keeper.stop();
  }
}

/** Standby: wait for a free lease, fence its previous holder, take it by compare-and-swap. */
async function acquireLease(
  deps: SidecarDeps,
): Promise<{ fencingToken: number; selfFenceAtMonoMs: number } | undefined> {
  const { store, fencer, clock, logger, shutdown, selfId } = deps;
  let lastWait = '';
  while (!shutdown.aborted) {
    try {
      const observation = await store.read();
      const decision = decideStandby({ observation, selfId, nowWallMs: clock.wallMs(), timing: deps.timing });
      if (decision.kind === 'wait') {
        if (decision.reason !== lastWait)
          logger.info({ event: 'standby', reason: decision.reason }, 'standing by');
        lastWait = decision.reason;
        await clock.sleep(deps.standbyPollMs, shutdown);
        continue;
      }
      lastWait = '';
      if (decision.kind === 'fence-then-acquire') {
        logger.warn({ event: 'fencing', peerId: decision.peerId }, 'lease expired: fencing its holder first');
        await fencer.fence(decision.peerId);
      }
      // Stamped after fencing (which may take long), just before the write.
      const stamp = leaseStamp({ wallMs: clock.wallMs(), monoMs: clock.monoMs() }, deps.timing);
      const fencingToken = await store.acquire({
        replaces: decision.replaces,
        holderId: selfId,
        expiresAtMs: stamp.expiresAtMs,
      });
      logger.warn({ event: 'lease-acquired', fencingToken, reason: decision.kind }, 'lease acquired');
      return { fencingToken, selfFenceAtMonoMs: stamp.selfFenceAtMonoMs };
    } catch (error) {
      // Lost a race, store unavailable, fencing unconfirmed: all "not now", read again.
      const event = error instanceof LeaseConflictError ? 'acquire-race-lost' : 'standby-step-failed';
      logger.warn({ event, err: error }, 'standby step did not complete');
      await clock.sleep(deps.standbyPollMs, shutdown);
    }
  }
  return undefined;
}

type HolderEvent = { kind: 'lost' } | { kind: 'postgres-exited'; exit: PostgresExit } | { kind: 'shutdown' };

/** Holder: start PostgreSQL, promote once it accepts connections, and stop it the moment the lease is in doubt. */
async function holdLease(deps: SidecarDeps, keeper: LeaseKeeper): Promise<SidecarOutcome> {
  const { postgres, logger, shutdown } = deps;
  const fencingToken = keeper.fencingToken;
  // Starts the moment the lease is lost, whatever the rest of this function is awaiting.
  const selfFenced = keeper.lost.then(() => postgres.kill());
  const lost = keeper.lost.then((): HolderEvent => ({ kind: 'lost' }));
  const stopped = new Promise<HolderEvent>((resolve) => {
    if (shutdown.aborted) resolve({ kind: 'shutdown' });
    shutdown.addEventListener('abort', () => resolve({ kind: 'shutdown' }), { once: true });
  });

  let started: { exited: Promise<PostgresExit> } | undefined;
  try {
    started = await prepareAndStart(deps, keeper);
  } catch (error) {
    if (error instanceof StaleHolderError) {
      logger.error(
        { event: 'stale-holder', err: error, fencingToken },
        'a later holder owns the data directory',
      );
      return 'stale-holder';
    }
    // Nothing of PostgreSQL runs (initdb has ended): hand the lease back rather than have a peer fence us.
    await release(deps, keeper);
    throw error;
  }
  if (!started) {
    await selfFenced;
    return 'self-fenced';
  }

  const ended = new AbortController();
  void becomePrimary(deps, keeper, ended.signal);
  const event = await Promise.race([
    lost,
    stopped,
    started.exited.then((exit): HolderEvent => ({ kind: 'postgres-exited', exit })),
  ]);
  ended.abort();

  switch (event.kind) {
    case 'lost':
      await selfFenced;
      logger.error({ event: 'self-fenced', fencingToken }, 'PostgreSQL killed after losing the lease');
      return 'self-fenced';
    case 'postgres-exited':
      logger.error(
        { event: 'postgres-exited', ...event.exit, fencingToken },
        'PostgreSQL exited: stepping down',
      );
      await postgres.kill(); // the backends of a crashed postmaster may outlive it
      await release(deps, keeper);
      return 'postgres-exited';
    case 'shutdown': {
      const how = await postgres.stopCleanly({
        timeoutMs: deps.cleanShutdownTimeoutMs,
        keepWaiting: () => keeper.isValid(),
      });
      logger.warn({ event: 'postgres-stopped', how, fencingToken }, 'PostgreSQL stopped for shutdown');
      await release(deps, keeper);
      return 'shutdown';
    }
  }
}

/** Claims the data directory, initialises it on first use, starts PostgreSQL; undefined if the lease went first. */
async function prepareAndStart(
  deps: SidecarDeps,
  keeper: LeaseKeeper,
): Promise<{ exited: Promise<PostgresExit> } | undefined> {
  const { dataDirectory, postgres, logger } = deps;
  if (!keeper.isValid()) return undefined;
  dataDirectory.claim(keeper.fencingToken);
  if (!dataDirectory.isInitialized()) {
    logger.warn(
      { event: 'initdb', fencingToken: keeper.fencingToken },
      'first start: initialising the data directory',
    );
    await dataDirectory.initialize(keeper.fencingToken, () => keeper.isValid());
  }
  // The check and the spawn run in one synchronous turn: nothing can interleave between them.
  if (!keeper.isValid()) return undefined;
  return { exited: postgres.start() };
}

/** Once PostgreSQL accepts connections: move the virtual IP here, publish, then keep the route right. */
async function becomePrimary(deps: SidecarDeps, keeper: LeaseKeeper, ended: AbortSignal): Promise<void> {
  const { postgres, promoter, store, clock, logger, selfId } = deps;
  const fencingToken = keeper.fencingToken;
  const active = () => !ended.aborted && keeper.isValid();
  if (!(await postgres.waitUntilReady(active))) return;
  logger.info({ event: 'postgres-ready', fencingToken }, 'PostgreSQL accepts connections');
  let published = false;
  while (active()) {
    try {
      await promoter.promote({ fencingToken });
      if (!published && active()) {
        await store.publishPrimary({ holderId: selfId, fencingToken, primarySinceMs: clock.wallMs() });
        published = true;
        logger.warn({ event: 'primary', fencingToken }, 'this instance is the primary');
      }
      await clock.sleep(deps.routeRecheckMs, ended);
    } catch (error) {
      logger.warn({ event: 'promote-failed', err: error, fencingToken }, 'promotion step failed; retrying');
      await clock.sleep(deps.standbyPollMs, ended);
    }
  }
}

/** Only after PostgreSQL is down, and only while the lease is still certainly ours. */
async function release(deps: SidecarDeps, keeper: LeaseKeeper): Promise<void> {
  const { store, clock, logger, selfId } = deps;
  if (!keeper.isValid()) return; // past the deadline: peers will fence this instance before taking over
  keeper.stop();
  try {
    await store.release({
      holderId: selfId,
      fencingToken: keeper.fencingToken,
      releasedAtMs: clock.wallMs(),
    });
    logger.warn({ event: 'lease-released', fencingToken: keeper.fencingToken }, 'lease released');
  } catch (error) {
    logger.warn(
      { event: 'lease-release-failed', err: error },
      'release failed; the lease will expire instead',
    );
  }
}
