import type { Logger } from '../../lib/logger';
import type { Clock } from '../clock';
import { decideHolder, type LeaseTiming, leaseStamp } from './lease-decisions';
import { LeaseConflictError, type LeaseStore } from './lease-store';

export type LossReason = 'deadline-passed' | 'lease-taken';

export interface LeaseKeeper {
  readonly fencingToken: number;
  /** True only while the lease is certainly still ours; checked synchronously right before each risky act. */
  isValid(): boolean;
  /** Resolves when the lease is lost (never rejects); the holder must stop PostgreSQL at once. */
  readonly lost: Promise<LossReason>;
  stop(): void;
}

/**
 * Keeps a freshly acquired lease: renews it every `renewIntervalMs`, and declares it lost at the self-fence
 * deadline (a watchdog of its own, so a renew request that hangs cannot postpone it) or as soon as a renewal is
 * refused. A lost lease is never regained: the sidecar restarts as a standby.
 */
export function keepLease(options: {
  store: LeaseStore;
  clock: Clock;
  logger: Logger;
  holderId: string;
  fencingToken: number;
  /** Deadline from the stamp the acquiring write carried. */
  selfFenceAtMonoMs: number;
  timing: LeaseTiming & { renewIntervalMs: number };
}): LeaseKeeper {
  const { store, clock, logger, holderId, fencingToken, timing } = options;
  let selfFenceAtMonoMs = options.selfFenceAtMonoMs;
  let lossReason: LossReason | undefined;
  let stopped = false;
  let resolveLost: (reason: LossReason) => void = () => {};
  const lost = new Promise<LossReason>((resolve) => {
    resolveLost = resolve;
  });
  const stopRenewing = new AbortController();

  function declareLost(reason: LossReason): void {
    if (lossReason || stopped) return;
    lossReason = reason;
    stopRenewing.abort();
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
    while (!stopRenewing.signal.aborted) {
      const remaining = selfFenceAtMonoMs - clock.monoMs();
      if (remaining <= 0) {
        check();
        return;
      }
      await clock.sleep(remaining, stopRenewing.signal);
    }
  }

  async function renewLoop(): Promise<void> {
    while (!stopRenewing.signal.aborted) {
      await clock.sleep(timing.renewIntervalMs, stopRenewing.signal);
      if (stopRenewing.signal.aborted || !check()) return;
      const stamp = leaseStamp({ wallMs: clock.wallMs(), monoMs: clock.monoMs() }, timing);
      try {
        await store.renew({ holderId, fencingToken, expiresAtMs: stamp.expiresAtMs });
        if (stopRenewing.signal.aborted) return;
        selfFenceAtMonoMs = Math.max(selfFenceAtMonoMs, stamp.selfFenceAtMonoMs);
        // A reply that arrives after its own deadline (the holder was frozen) extends nothing.
        check();
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
    lost,
    stop() {
      stopped = true;
      stopRenewing.abort();
    },
  };
}
