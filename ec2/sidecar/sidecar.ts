import { LeaseConflictError, type LeaseStore } from '../../shared/lease-table/holder-writes';
import {
  type LeaseObservation,
  STANDBY_HEARTBEAT_INTERVAL_MS,
  type Takeover,
  tokenAfter,
  withPrimarySince,
  withTakeover,
} from '../../shared/lease-table/lease-item';
import type { StandbyHeartbeat } from '../../shared/lease-table/standby-heartbeat';
import type { Clock } from './clock';
import type { Fencer } from './fence/fencer';
import {
  assertLeaseTiming,
  decideStandby,
  type LeaseTiming,
  leaseStamp,
  versionKey,
} from './lease/lease-decisions';
import { keepLease, type LeaseKeeper } from './lease/lease-keeper';
import type { SidecarLogger } from './log-events';
import { type DataDirectory, MaintenanceError, StaleHolderError } from './postgres/data-directory';
import type { PostgresExit, PostgresServer } from './postgres/postgres-server';
import type { Promoter } from './promote/promoter';

export interface SidecarDeps {
  selfId: string;
  timing: LeaseTiming & { renewIntervalMs: number };
  standbyPollMs: number;
  cleanShutdownTimeoutMs: number;
  routeRecheckMs: number;
  /** From PostgreSQL ready to route moved and lease published; past it the holder steps down. */
  promotionDeadlineMs: number;
  /**
   * From PostgreSQL's start to accepting connections (crash recovery of a huge WAL, a hung mount); past it the
   * holder steps down rather than renew for ever with nobody serving (Patroni's master_start_timeout).
   */
  startDeadlineMs: number;
  /** Failed health probes in a row tolerated before the holder stops renewing. */
  probeFailuresAllowed: number;
  store: LeaseStore;
  /** Written while waiting as a standby, so that a switchover only goes to a standby whose sidecar runs. */
  heartbeat: StandbyHeartbeat;
  fencer: Fencer;
  promoter: Promoter;
  postgres: PostgresServer;
  dataDirectory: DataDirectory;
  clock: Clock;
  logger: SidecarLogger;
  /** Aborted on SIGTERM (scale-in, reboot, deploy). */
  shutdown: AbortSignal;
}

/**
 * How a run ended. Every run is one pass standby → holder → end; the process then exits and systemd starts a
 * fresh standby, so a lost lease is never "regained" by a sidecar whose state may be stale.
 */
export type SidecarOutcome =
  | 'shutdown'
  | 'handed-over'
  /** A planned stop (SIGTERM or a handover) that released nothing: the lease runs out and a peer fences. */
  | 'stopped-unreleased'
  | 'self-fenced'
  | 'postgres-exited'
  | 'postgres-unhealthy'
  | 'promotion-failed'
  | 'start-failed'
  /** No data directory where the lease's history says a primary has served: nothing initialised, the lease released. */
  | 'database-missing'
  | 'stale-holder';

interface Acquired {
  fencingToken: number;
  selfFenceAtMonoMs: number;
  expiresAtMs: number;
  /** Every other instance must be fenced before PostgreSQL may start (the holder was unknown). */
  fenceAll: boolean;
  /** The takeover list as written with the lease, this take last; published again once primary. */
  takeovers: Takeover[];
}

export async function runSidecar(deps: SidecarDeps): Promise<SidecarOutcome> {
  assertLeaseTiming(deps.timing);
  const acquired = await acquireLease(deps);
  if (!acquired) return 'shutdown';
  const keeper = keepLease({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    holderId: deps.selfId,
    fencingToken: acquired.fencingToken,
    selfFenceAtMonoMs: acquired.selfFenceAtMonoMs,
    expiresAtMs: acquired.expiresAtMs,
    timing: deps.timing,
  });
  try {
    if (acquired.fenceAll && !(await fenceAllOthers(deps, keeper))) {
      // Nothing of ours runs, and the lease is not released: it still says that everyone must be fenced.
      return keeper.isValid() ? 'shutdown' : 'self-fenced';
    }
    return await holdLease(deps, keeper, acquired.takeovers);
  } finally {
    keeper.stop();
  }
}

/** Standby: wait for a free lease, fence its previous holder, take it by compare-and-swap. */
async function acquireLease(deps: SidecarDeps): Promise<Acquired | undefined> {
  const { store, fencer, clock, logger, shutdown, selfId, dataDirectory, postgres } = deps;
  let lastWait = '';
  // Expiry is judged by this observer: how long, on its monotonic clock, it has seen one version unchanged.
  let seen = { key: '', sinceMonoMs: 0 };
  let lastBeatMonoMs = Number.NEGATIVE_INFINITY;
  while (!shutdown.aborted) {
    try {
      const observation = await store.read();
      const key = versionKey(observation);
      // Read after the answer arrived: the version was written no later than this.
      if (key !== seen.key) seen = { key, sinceMonoMs: clock.monoMs() };
      const decision = decideStandby({
        observation,
        selfId,
        unchangedForMs: clock.monoMs() - seen.sinceMonoMs,
        timing: deps.timing,
      });
      if (decision.kind === 'wait') {
        if (decision.reason !== lastWait)
          logger.info({ event: 'standby', reason: decision.reason }, 'standing by');
        lastWait = decision.reason;
        if (
          observation.kind === 'present' &&
          clock.monoMs() - lastBeatMonoMs >= STANDBY_HEARTBEAT_INTERVAL_MS
        ) {
          lastBeatMonoMs = clock.monoMs();
          // Not awaited: a slow or failing heartbeat must never delay a takeover.
          deps.heartbeat.beat(observation.record.expiresAtMs).catch((error: unknown) => {
            logger.warn({ event: 'standby-heartbeat-failed', err: error }, 'standby heartbeat not written');
          });
        }
        await clock.sleep(deps.standbyPollMs, shutdown);
        continue;
      }
      // A restore is replacing the data directory: no take, no fence, until the marker is gone.
      const maintenance = dataDirectory.maintenance();
      if (maintenance !== undefined) {
        const why = `maintenance: ${maintenance}`;
        if (why !== lastWait)
          logger.warn(
            { event: 'maintenance', reason: maintenance },
            'data directory in maintenance: not taking the lease',
          );
        lastWait = why;
        await clock.sleep(deps.standbyPollMs, shutdown);
        continue;
      }
      lastWait = '';
      const { fence, reason } = decision;
      if (fence.kind === 'holder') {
        logger.warn({ event: 'fencing', peerId: fence.peerId }, 'lease expired: fencing its holder first');
        await fencer.fence(fence.peerId);
      }
      if (reason === 'own-earlier-run' && !(await postgres.kill())) {
        // systemd restarts the unit only once all of its processes are gone; if some PostgreSQL of this host
        // still runs on PGDATA, that did not hold, and the lease must run out so that a peer fences us.
        logger.error({ event: 'own-postgres-survives' }, 'a PostgreSQL of an earlier run cannot be stopped');
        await clock.sleep(deps.standbyPollMs, shutdown);
        continue;
      }
      // Stamped after fencing (which may take long), just before the write.
      const stamp = leaseStamp({ wallMs: clock.wallMs(), monoMs: clock.monoMs() }, deps.timing);
      const fenceAll = fence.kind === 'all-others';
      // A lost or unreadable item: continue from the last holder that started PostgreSQL here.
      const seedToken = dataDirectory.recordedToken() + 1;
      const takeovers = takeoversAfter(observation, {
        holderId: selfId,
        fencingToken: tokenAfter(decision.replaces, seedToken),
        reason,
        fenced: fence.kind,
        acquiredAtMs: clock.wallMs(),
      });
      const fencingToken = await store.acquire({
        replaces: decision.replaces,
        holderId: selfId,
        expiresAtMs: stamp.expiresAtMs,
        seedToken,
        fenceAllPending: fenceAll,
        takeovers,
      });
      logger.warn({ event: 'lease-acquired', fencingToken, reason, fence: fence.kind }, 'lease acquired');
      return { fencingToken, ...stamp, fenceAll, takeovers };
    } catch (error) {
      // Lost a race, store unavailable, fencing unconfirmed: all "not now", read again.
      const event = error instanceof LeaseConflictError ? 'acquire-race-lost' : 'standby-step-failed';
      logger.warn({ event, err: error }, 'standby step did not complete');
      await clock.sleep(deps.standbyPollMs, shutdown);
    }
  }
  return undefined;
}

/** The lease's takeover list with this take appended, and what the previous holder left for the record. */
function takeoversAfter(observation: LeaseObservation, take: Takeover): Takeover[] {
  if (observation.kind !== 'present') return withTakeover([], take);
  const { record } = observation;
  return withTakeover(record.takeovers ?? [], {
    ...take,
    previousHolderId: record.holderId,
    ...(record.writesStoppedAtMs === undefined
      ? {}
      : { previousWritesStoppedAtMs: record.writesStoppedAtMs }),
  });
}

/** Holder of a lease whose previous holder is unknown: fence everyone else, then clear the mark. */
async function fenceAllOthers(deps: SidecarDeps, keeper: LeaseKeeper): Promise<boolean> {
  const { fencer, store, logger, clock, shutdown, selfId } = deps;
  while (keeper.isValid() && !shutdown.aborted) {
    try {
      await fencer.fenceAllOthers();
      await store.fenceAllDone({ holderId: selfId, fencingToken: keeper.fencingToken });
      return keeper.isValid();
    } catch (error) {
      logger.warn({ event: 'fence-all-failed', err: error }, 'fencing the other instances did not complete');
      await clock.sleep(deps.standbyPollMs, shutdown);
    }
  }
  return false;
}

type HolderEvent =
  | { kind: 'lost' }
  | { kind: 'postgres-exited'; exit: PostgresExit }
  | { kind: 'shutdown' }
  | { kind: 'handover'; to: string }
  | { kind: 'unhealthy' }
  | { kind: 'promotion-failed' }
  | { kind: 'start-failed' };

/** Holder: start PostgreSQL, promote once it accepts connections, and stop it the moment the lease is in doubt. */
async function holdLease(
  deps: SidecarDeps,
  keeper: LeaseKeeper,
  takeovers: Takeover[],
): Promise<SidecarOutcome> {
  const { postgres, logger, shutdown } = deps;
  const fencingToken = keeper.fencingToken;
  // Starts the moment the lease is lost, whatever the rest of this function is awaiting.
  const selfFenced = keeper.lost.then(() => postgres.kill());
  const lost = keeper.lost.then((): HolderEvent => ({ kind: 'lost' }));
  const unhealthy = keeper.unhealthy.then((): HolderEvent => ({ kind: 'unhealthy' }));
  const handover = keeper.handoverRequested.then((to): HolderEvent => ({ kind: 'handover', to }));
  const stopped = new Promise<HolderEvent>((resolve) => {
    if (shutdown.aborted) resolve({ kind: 'shutdown' });
    shutdown.addEventListener('abort', () => resolve({ kind: 'shutdown' }), { once: true });
  });

  let started: { exited: Promise<PostgresExit> } | undefined;
  try {
    started = await prepareAndStart(deps, keeper, takeovers);
  } catch (error) {
    if (error instanceof MaintenanceError) {
      // Nothing of PostgreSQL runs: hand the lease back; the next run waits as a standby until the marker goes.
      logger.warn(
        { event: 'maintenance', reason: error.message, fencingToken },
        'data directory in maintenance',
      );
      await release(deps, keeper, {});
      return 'shutdown';
    }
    if (error instanceof DatabaseMissingError) {
      logger.error({ event: 'database-missing', err: error, fencingToken }, error.message);
      await release(deps, keeper, {});
      return 'database-missing';
    }
    if (error instanceof StaleHolderError) {
      logger.error(
        { event: 'stale-holder', err: error, fencingToken },
        'a later holder owns the data directory',
      );
      return 'stale-holder';
    }
    // Nothing of PostgreSQL runs (initdb has ended): hand the lease back rather than have a peer fence us.
    await release(deps, keeper, {});
    throw error;
  }
  if (!started) {
    await selfFenced;
    return 'self-fenced';
  }

  const ended = new AbortController();
  const promotion = becomePrimary(deps, keeper, takeovers, ended.signal);
  const event = await Promise.race([
    lost,
    stopped,
    unhealthy,
    handover,
    promotion,
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
      await stepDown(deps, keeper); // the backends of a crashed postmaster may outlive it
      return 'postgres-exited';
    case 'unhealthy':
      await stepDown(deps, keeper);
      return 'postgres-unhealthy';
    case 'start-failed':
    case 'promotion-failed': {
      const [deadlineMs, what] =
        event.kind === 'start-failed'
          ? [deps.startDeadlineMs, 'PostgreSQL did not accept connections in time']
          : [deps.promotionDeadlineMs, 'could not become primary in time'];
      logger.error({ event: event.kind, fencingToken, deadlineMs }, `${what}: stepping down`);
      keeper.stopRenewing(); // should the kill hang, the lease runs out and a peer fences this instance
      await stepDown(deps, keeper);
      return event.kind;
    }
    case 'shutdown':
      return (await stopAndRelease(deps, keeper, undefined)) ? 'shutdown' : 'stopped-unreleased';
    case 'handover':
      return (await stopAndRelease(deps, keeper, event.to)) ? 'handed-over' : 'stopped-unreleased';
  }
}

/**
 * A planned step-down (SIGTERM, or a handover to the named standby): fast shutdown (clients disconnected, a
 * checkpoint), then, once every process of PostgreSQL is gone, the release, which names the standby to take over.
 * The lease is renewed all the while, however long the shutdown takes (up to its timeout), without judging the
 * server's health: it refuses connections while it shuts down. Resolves whether the lease was released.
 */
async function stopAndRelease(
  deps: SidecarDeps,
  keeper: LeaseKeeper,
  handedOverTo: string | undefined,
): Promise<boolean> {
  const { postgres, logger, clock } = deps;
  const fencingToken = keeper.fencingToken;
  const writesStoppedAtMs = clock.wallMs();
  keeper.beginPlannedStop(writesStoppedAtMs);
  const how = await postgres.stopCleanly({
    timeoutMs: deps.cleanShutdownTimeoutMs,
    keepWaiting: () => keeper.isValid(),
  });
  logger.warn(
    { event: 'postgres-stopped', how, fencingToken, ...(handedOverTo ? { handoverTo: handedOverTo } : {}) },
    handedOverTo ? 'PostgreSQL stopped for a handover' : 'PostgreSQL stopped for shutdown',
  );
  return how !== 'unkillable' && (await release(deps, keeper, { handedOverTo, writesStoppedAtMs }));
}

/** Kills PostgreSQL and, only if every process of it is confirmed gone, releases the lease. */
async function stepDown(deps: SidecarDeps, keeper: LeaseKeeper): Promise<void> {
  if (await deps.postgres.kill()) await release(deps, keeper, {});
}

/** An empty data directory where the lease's history says a database has served. */
class DatabaseMissingError extends Error {
  override name = 'DatabaseMissingError';
}

/** Claims the data directory, initialises it on first use, starts PostgreSQL; undefined if the lease went first. */
async function prepareAndStart(
  deps: SidecarDeps,
  keeper: LeaseKeeper,
  takeovers: readonly Takeover[],
): Promise<{ exited: Promise<PostgresExit> } | undefined> {
  const { dataDirectory, postgres, logger } = deps;
  if (!keeper.isValid()) return undefined;
  const maintenance = dataDirectory.maintenance();
  if (maintenance !== undefined) throw new MaintenanceError(maintenance);
  // An empty PGDATA where a primary has served before is a missing database (EFS not mounted, the wrong file
  // system, a directory moved aside during a restore), not a first boot: initialising it would give the app a new,
  // empty primary to write into.
  const served = takeovers.find(
    (t) => t.fencingToken < keeper.fencingToken && t.primarySinceMs !== undefined,
  );
  if (!dataDirectory.isInitialized() && served)
    throw new DatabaseMissingError(
      `no database in PGDATA although holder ${served.holderId} (token ${served.fencingToken}) served as primary: ` +
        'not initialising an empty one (is the file system mounted?)',
    );
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
  return { exited: postgres.start(keeper.fencingToken) };
}

/**
 * Once PostgreSQL accepts connections: watch its health, move the virtual IP here, publish, then keep the route
 * right. Resolves with `promotion-failed` if the route and the lease are not both done by the deadline; else
 * never (the caller's race ends it through `ended`).
 */
async function becomePrimary(
  deps: SidecarDeps,
  keeper: LeaseKeeper,
  takeovers: Takeover[],
  ended: AbortSignal,
): Promise<HolderEvent> {
  const { postgres, promoter, store, clock, logger, selfId } = deps;
  const never = new Promise<HolderEvent>(() => {});
  const fencingToken = keeper.fencingToken;
  const active = () => !ended.aborted && keeper.isValid();
  // A timer of its own: readiness polling that hangs (a hung mount) cannot postpone it.
  let ready = false;
  const startDeadline = clock
    .sleep(deps.startDeadlineMs, ended)
    .then((): HolderEvent | Promise<HolderEvent> =>
      ready || ended.aborted ? never : { kind: 'start-failed' },
    );
  const becameReady = await Promise.race([postgres.waitUntilReady(active), startDeadline]);
  if (becameReady !== true) return becameReady === false ? never : becameReady;
  ready = true;
  logger.info({ event: 'postgres-ready', fencingToken }, 'PostgreSQL accepts connections');
  keeper.watchHealth({ probe: () => postgres.probe(), failuresAllowed: deps.probeFailuresAllowed });
  let published = false;
  // A timer of its own, so that an EC2 call that hangs cannot postpone it.
  const deadline = clock
    .sleep(deps.promotionDeadlineMs, ended)
    .then((): Promise<HolderEvent> | HolderEvent =>
      published || ended.aborted ? never : { kind: 'promotion-failed' },
    );
  async function promoteAndKeepRoute(): Promise<HolderEvent> {
    while (active()) {
      try {
        await promoter.promote({ fencingToken });
        if (!published && active()) {
          const primarySinceMs = clock.wallMs();
          await store.publishPrimary({
            holderId: selfId,
            fencingToken,
            primarySinceMs,
            takeovers: withPrimarySince(takeovers, primarySinceMs),
          });
          published = true;
          logger.warn({ event: 'primary', fencingToken }, 'this instance is the primary');
        }
        await clock.sleep(deps.routeRecheckMs, ended);
      } catch (error) {
        logger.warn({ event: 'promote-failed', err: error, fencingToken }, 'promotion step failed; retrying');
        await clock.sleep(deps.standbyPollMs, ended);
      }
    }
    return never;
  }
  return Promise.race([promoteAndKeepRoute(), deadline]);
}

/**
 * Only after PostgreSQL is down, and only while the lease is still certainly ours: first the file system's
 * writeback is flushed (syncfs), within what is left of the lease, so that nothing the stopped server wrote
 * is still on its way to the storage when the next holder starts without fencing. Resolves whether it released.
 */
async function release(
  deps: SidecarDeps,
  keeper: LeaseKeeper,
  planned: { handedOverTo?: string | undefined; writesStoppedAtMs?: number },
): Promise<boolean> {
  const { store, clock, logger, selfId, dataDirectory } = deps;
  if (!keeper.isValid()) return false; // past the deadline: peers will fence this instance before taking over
  const synced = await dataDirectory.syncFileSystem(keeper.remainingMs());
  if (!synced.ok || !keeper.isValid()) {
    logger.error(
      {
        event: 'sync-failed',
        fencingToken: keeper.fencingToken,
        ...(synced.ok ? {} : { err: synced.error }),
      },
      'writeback not confirmed within the lease: not releasing, the next holder will fence this instance',
    );
    return false;
  }
  keeper.stop();
  try {
    await store.release({
      holderId: selfId,
      fencingToken: keeper.fencingToken,
      releasedAtMs: clock.wallMs(),
      ...(planned.handedOverTo === undefined ? {} : { handedOverTo: planned.handedOverTo }),
      ...(planned.writesStoppedAtMs === undefined ? {} : { writesStoppedAtMs: planned.writesStoppedAtMs }),
    });
    logger.warn(
      { event: 'lease-released', fencingToken: keeper.fencingToken, handedOverTo: planned.handedOverTo },
      'lease released',
    );
    return true;
  } catch (error) {
    logger.warn(
      { event: 'lease-release-failed', err: error },
      'release failed; the lease will expire instead',
    );
    return false;
  }
}
