import { LeaseConflictError, type LeaseStore } from '../../../shared/lease-table/holder-writes';
import type { Clock } from '../clock';
import type { SidecarLogger } from '../log-events';
import { decideHolder, handoverTarget, type LeaseTiming, leaseStamp } from './lease-decisions';

export type LossReason = 'deadline-passed' | 'lease-taken';

export interface HealthWatch {
  /** One probe of the server, bounded in time by the probe itself (at most the renew interval); true when it answered. */
  probe(): Promise<boolean>;
  /** Consecutive failed probes after which renewing stops. */
  failuresAllowed: number;
}

export interface LeaseKeeper {
  readonly fencingToken: number;
  /** True only while the lease is certainly still ours; checked synchronously right before each risky act. */
  isValid(): boolean;
  /** How long until the self-fence deadline (0 once past it). */
  remainingMs(): number;
  /** Resolves when the lease is lost (never rejects); the holder must stop PostgreSQL at once. */
  readonly lost: Promise<LossReason>;
  /** Resolves when the watched server failed its probes; renewing has stopped by then. */
  readonly unhealthy: Promise<void>;
  /** Resolves with the standby a renewal's answer asked this holder to hand the lease to (a planned switchover). */
  readonly handoverRequested: Promise<string>;
  /** From now on, probe the server before each renewal (once it runs). */
  watchHealth(watch: HealthWatch): void;
  /**
   * The holder has begun stopping its server on purpose (SIGTERM or a handover): probes end (a server shutting
   * down refuses connections, and must not cost the lease it is about to release), and each renewal from now on
   * publishes when its writes stopped.
   */
  beginPlannedStop(writesStoppedAtMs: number): void;
  /** Stops renewing; the deadline still stands, so the lease runs out unless released first. */
  stopRenewing(): void;
  stop(): void;
}

/**
 * Keeps a freshly acquired lease: renews it every `renewIntervalMs`, and declares it lost at the self-fence
 * deadline (a watchdog of its own, so a renew request that hangs cannot postpone it) or as soon as a renewal is
 * refused. A lost lease is never regained: the sidecar restarts as a standby. Once told to watch the server,
 * it renews only while the server answers its probes, so a frozen server is not kept in office, and publishes
 * each probe's answer with the renewal. A handover request comes back in a renewal's answer: it is passed on
 * once, and renewing goes on (the holder keeps the lease until it has stopped PostgreSQL and released it), with
 * no more probing once the planned stop has begun: renewing while our own server shuts down is safe (the lease
 * is still ours, and a refused or late renewal still self-fences as ever).
 */
export function keepLease(options: {
  store: LeaseStore;
  clock: Clock;
  logger: SidecarLogger;
  holderId: string;
  fencingToken: number;
  /** Stamp the acquiring write carried. */
  selfFenceAtMonoMs: number;
  expiresAtMs: number;
  timing: LeaseTiming & { renewIntervalMs: number };
}): LeaseKeeper {
  const { store, clock, logger, holderId, fencingToken, timing } = options;
  let selfFenceAtMonoMs = options.selfFenceAtMonoMs;
  let lastExpiresAtMs = options.expiresAtMs;
  let lossReason: LossReason | undefined;
  let stopped = false;
  let health: HealthWatch | undefined;
  let failedProbes = 0;
  let plannedStop: { writesStoppedAtMs: number } | undefined;
  let resolveLost: (reason: LossReason) => void = () => {};
  const lost = new Promise<LossReason>((resolve) => {
    resolveLost = resolve;
  });
  let resolveUnhealthy: () => void = () => {};
  const unhealthy = new Promise<void>((resolve) => {
    resolveUnhealthy = resolve;
  });
  let resolveHandover: (to: string) => void = () => {};
  let handoverSeen = false;
  const handoverRequested = new Promise<string>((resolve) => {
    resolveHandover = resolve;
  });
  const stopRenewing = new AbortController();
  const stopWatchdog = new AbortController();

  function declareLost(reason: LossReason): void {
    if (lossReason || stopped) return;
    lossReason = reason;
    stopRenewing.abort();
    stopWatchdog.abort();
    logger.error({ event: 'lease-lost', reason, fencingToken }, 'lease lost: self-fencing');
    resolveLost(reason);
  }

  function check(leaseTaken = false): boolean {
    if (lossReason) return false; // lost stays lost
    const decision = decideHolder({ nowMonoMs: clock.monoMs(), selfFenceAtMonoMs, leaseTaken });
    if (decision.kind === 'self-fence') declareLost(decision.reason);
    return decision.kind === 'renew';
  }

  // Sleeps until the current deadline, re-reading it on waking, since a renewal may have moved it meanwhile.
  async function watchdog(): Promise<void> {
    while (!stopWatchdog.signal.aborted) {
      const remaining = selfFenceAtMonoMs - clock.monoMs();
      if (remaining <= 0) {
        check();
        return;
      }
      await clock.sleep(remaining, stopWatchdog.signal);
    }
  }

  /** Counts one probe's answer; false once the server has failed too many in a row: renewing stops for good. */
  function judgeProbe(answered: boolean): boolean {
    if (plannedStop) return true; // a probe sent before the stop began
    if (answered) {
      failedProbes = 0;
      return true;
    }
    failedProbes += 1;
    logger.warn({ event: 'postgres-probe-failed', failedProbes, fencingToken }, 'PostgreSQL did not answer');
    if (failedProbes <= (health?.failuresAllowed ?? 0)) return true;
    logger.error({ event: 'postgres-unhealthy', fencingToken }, 'PostgreSQL unresponsive: renewing stops');
    stopRenewing.abort();
    resolveUnhealthy();
    return false;
  }

  async function renewLoop(): Promise<void> {
    while (!stopRenewing.signal.aborted) {
      // The probe runs during the interval, so a slow answer does not stretch the renewal period.
      const probing = health?.probe();
      await clock.sleep(timing.renewIntervalMs, stopRenewing.signal);
      if (stopRenewing.signal.aborted || !check()) return;
      const probed = probing === undefined ? undefined : await probing;
      if (probed !== undefined && !judgeProbe(probed)) return;
      const answered = plannedStop ? undefined : probed;
      if (stopRenewing.signal.aborted || !check()) return;
      const stamp = leaseStamp({ wallMs: clock.wallMs(), monoMs: clock.monoMs() }, timing, lastExpiresAtMs);
      lastExpiresAtMs = stamp.expiresAtMs; // counted as written even if the reply is lost: it may be applied
      try {
        const written = await store.renew({
          holderId,
          fencingToken,
          expiresAtMs: stamp.expiresAtMs,
          ...(answered === undefined ? {} : { postgresAnswering: answered }),
          ...(plannedStop ?? {}),
        });
        if (stopRenewing.signal.aborted) return;
        selfFenceAtMonoMs = Math.max(selfFenceAtMonoMs, stamp.selfFenceAtMonoMs);
        // A reply that arrives after its own deadline (the holder was frozen) extends nothing.
        if (!check()) return;
        const handoverTo = handoverTarget(written, holderId);
        if (handoverTo !== undefined && !handoverSeen) {
          handoverSeen = true;
          logger.warn({ event: 'handover-requested', to: handoverTo, fencingToken }, 'handover requested');
          resolveHandover(handoverTo);
        }
      } catch (error) {
        if (error instanceof LeaseConflictError) {
          check(true);
          return;
        }
        // Transient: the deadline still stands; the next tick retries.
        logger.warn({ event: 'lease-renew-failed', err: error, fencingToken }, 'lease renewal failed');
      }
    }
  }

  void watchdog();
  void renewLoop();
  return {
    fencingToken,
    isValid: () => !stopped && check(),
    remainingMs: () => Math.max(0, selfFenceAtMonoMs - clock.monoMs()),
    lost,
    unhealthy,
    handoverRequested,
    watchHealth(watch) {
      if (!plannedStop) health = watch;
    },
    beginPlannedStop(writesStoppedAtMs) {
      plannedStop = { writesStoppedAtMs };
      health = undefined;
    },
    stopRenewing() {
      stopRenewing.abort();
    },
    stop() {
      stopped = true;
      stopRenewing.abort();
      stopWatchdog.abort();
    },
  };
}
