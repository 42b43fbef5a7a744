import type { LeaseRecord } from '../../lib/lease-record';

/** What the sidecar saw in the lease table. A malformed item is never acted upon. */
export type LeaseObservation =
  | { kind: 'absent' }
  | { kind: 'malformed' }
  | { kind: 'present'; record: LeaseRecord; releasedAtMs?: number };

/** The exact item version a takeover replaces (compare-and-swap): a concurrent writer makes the takeover fail. */
export type LeaseVersion =
  | { kind: 'absent' }
  | { kind: 'version'; fencingToken: number; expiresAtMs: number };

export type StandbyDecision =
  | { kind: 'wait'; reason: 'held-by-peer' | 'held-by-earlier-self' | 'malformed' }
  | { kind: 'acquire'; replaces: LeaseVersion; reason: 'absent' | 'released' | 'expired-own' }
  | { kind: 'fence-then-acquire'; peerId: string; replaces: LeaseVersion };

export interface LeaseTiming {
  /** How long a written lease is valid, counted from the moment its holder stamped it. */
  ttlMs: number;
  /** The holder stops PostgreSQL this long before its lease would expire at the store. */
  selfFenceMarginMs: number;
  /** Largest wall-clock difference assumed between any two sidecars; a standby waits this long past expiry. */
  clockSkewMs: number;
}

/**
 * A standby's whole decision, from one consistent read of the lease. A lease held by someone else is free only
 * once the standby's clock is past its expiry by the skew budget, and even then the previous holder is fenced
 * before the lease is taken; only a lease its holder released (after stopping PostgreSQL) is taken directly.
 */
export function decideStandby(input: {
  observation: LeaseObservation;
  selfId: string;
  nowWallMs: number;
  timing: Pick<LeaseTiming, 'clockSkewMs'>;
}): StandbyDecision {
  const { observation, selfId, nowWallMs, timing } = input;
  if (observation.kind === 'absent')
    return { kind: 'acquire', replaces: { kind: 'absent' }, reason: 'absent' };
  if (observation.kind === 'malformed') return { kind: 'wait', reason: 'malformed' };
  const { record } = observation;
  const replaces: LeaseVersion = {
    kind: 'version',
    fencingToken: record.fencingToken,
    expiresAtMs: record.expiresAtMs,
  };
  if (observation.releasedAtMs !== undefined) return { kind: 'acquire', replaces, reason: 'released' };
  const expired = nowWallMs > record.expiresAtMs + timing.clockSkewMs;
  if (record.holderId === selfId) {
    // An earlier run of this sidecar on this instance held it; its processes are gone (systemd stops the whole
    // unit before restarting it), so there is nobody to fence, but peers may still be acting on the expiry.
    return expired
      ? { kind: 'acquire', replaces, reason: 'expired-own' }
      : { kind: 'wait', reason: 'held-by-earlier-self' };
  }
  if (!expired) return { kind: 'wait', reason: 'held-by-peer' };
  return { kind: 'fence-then-acquire', peerId: record.holderId, replaces };
}

/**
 * What one successful write of the lease buys, stamped from the clocks read just BEFORE the request was sent:
 * the store keeps `expiresAtMs` (wall clock, read by peers), the holder keeps `selfFenceAtMonoMs` (its own
 * monotonic clock, immune to wall-clock steps), which falls `selfFenceMarginMs` before that expiry.
 */
export function leaseStamp(
  clocks: { wallMs: number; monoMs: number },
  timing: Pick<LeaseTiming, 'ttlMs' | 'selfFenceMarginMs'>,
): { expiresAtMs: number; selfFenceAtMonoMs: number } {
  return {
    expiresAtMs: clocks.wallMs + timing.ttlMs,
    selfFenceAtMonoMs: clocks.monoMs + timing.ttlMs - timing.selfFenceMarginMs,
  };
}

export type HolderDecision =
  | { kind: 'renew' }
  | { kind: 'self-fence'; reason: 'deadline-passed' | 'lease-taken' };

/** A holder checks its deadline before anything else, so a holder waking from a pause fences itself first. */
export function decideHolder(input: {
  nowMonoMs: number;
  selfFenceAtMonoMs: number;
  leaseTaken: boolean;
}): HolderDecision {
  if (input.leaseTaken) return { kind: 'self-fence', reason: 'lease-taken' };
  if (input.nowMonoMs >= input.selfFenceAtMonoMs) return { kind: 'self-fence', reason: 'deadline-passed' };
  return { kind: 'renew' };
}
