import {
  type LeaseObservation,
  type LeaseRecord,
  type LeaseVersion,
  standingHandover,
  type TakeReason,
} from '../../../shared/lease-table/lease-item';

/**
 * Whom a take must fence. `holder`: the named holder, before the lease is written. `all-others`: every other
 * database instance of the stage, after the lease is written with `fenceAllPending` (so that two standbys never
 * fence each other, and whoever takes over from a holder that died half-way fences them all again).
 */
export type FencePlan = { kind: 'none' } | { kind: 'holder'; peerId: string } | { kind: 'all-others' };

export type StandbyDecision =
  | { kind: 'wait'; reason: 'held-by-peer' | 'handed-over-to-peer' }
  | { kind: 'take'; reason: TakeReason; replaces: LeaseVersion; fence: FencePlan };

export interface LeaseTiming {
  /** How long a written lease is valid, counted from the moment its holder stamped it. */
  ttlMs: number;
  /** The holder stops PostgreSQL this long before its lease would expire at the store. */
  selfFenceMarginMs: number;
  /**
   * Added to the TTL before an unchanged lease counts as expired: covers the rate difference of two monotonic
   * clocks and scheduling delay (CLOCK_SKEW_MS; wall clocks are never compared).
   */
  clockSkewMs: number;
}

/**
 * What makes a timing unsafe, as `[setting, problem]` pairs (empty: safe): the sidecar's configuration reports
 * them by environment variable, and the sidecar refuses to run with any (assertLeaseTiming).
 */
export function leaseTimingProblems(timing: LeaseTiming & { renewIntervalMs: number }): [string, string][] {
  const { ttlMs, renewIntervalMs, selfFenceMarginMs, clockSkewMs } = timing;
  const problems: [string, string][] = [];
  const positive = { ttlMs, renewIntervalMs, selfFenceMarginMs };
  for (const [key, value] of Object.entries(positive)) {
    if (!Number.isFinite(value) || value <= 0) problems.push([key, 'must be a positive number of ms']);
  }
  if (!Number.isFinite(clockSkewMs) || clockSkewMs < 0)
    problems.push(['clockSkewMs', 'must not be negative']);
  if (selfFenceMarginMs >= ttlMs) problems.push(['selfFenceMarginMs', 'must be below ttlMs']);
  // At least two renewal attempts must fit before the self-fence deadline, so one lost request is harmless.
  if (renewIntervalMs * 2 > ttlMs - selfFenceMarginMs)
    problems.push(['renewIntervalMs', 'two renewals must fit in ttlMs - selfFenceMarginMs']);
  return problems;
}

/** Throws when the timing is unsafe (see leaseTimingProblems): checked where the timing is used, not only at start. */
export function assertLeaseTiming(timing: LeaseTiming & { renewIntervalMs: number }): void {
  const problems = leaseTimingProblems(timing);
  if (problems.length > 0) {
    throw new RangeError(`unsafe lease timing: ${problems.map(([key, why]) => `${key} ${why}`).join('; ')}`);
  }
}

/** The fields whose change proves the holder wrote the item again (every renewal writes a larger expiresAtMs). */
export function versionKey(observation: LeaseObservation): string {
  if (observation.kind !== 'present') return observation.kind;
  const { record } = observation;
  return [
    record.holderId,
    record.fencingToken,
    record.expiresAtMs,
    record.releasedAtMs ?? '',
    record.fenceAllPending ?? '',
  ]
    .map(String)
    .join('|');
}

/**
 * A standby's whole decision, from one consistent read of the lease and how long (on this observer's monotonic
 * clock, since it first saw it) that exact version has gone unchanged; expiry is judged on that age, never on
 * `expiresAtMs` against a wall clock, as client-go's leader election does.
 *
 * - absent or malformed: the holder is unknown, so every other instance is fenced once the lease is written;
 * - released (its holder stopped PostgreSQL first): taken without fencing; when the release names a standby
 *   (a planned handover), only that standby takes it, unless it has not within TTL + margin of this observer
 *   seeing the release (the named one died), after which anyone takes it as a plain release;
 * - held by this very instance (an earlier run of this sidecar, whose processes systemd has stopped before
 *   restarting it): taken back at once, the documented precedence of the former holder; the compare-and-swap
 *   still decides if a peer acts at the same moment;
 * - held by a peer: waited on until unchanged for TTL + margin, then its holder is fenced before the take.
 */
export function decideStandby(input: {
  observation: LeaseObservation;
  selfId: string;
  unchangedForMs: number;
  timing: Pick<LeaseTiming, 'ttlMs' | 'clockSkewMs'>;
}): StandbyDecision {
  const { observation, selfId, unchangedForMs, timing } = input;
  if (observation.kind !== 'present') {
    return {
      kind: 'take',
      reason: 'holder-unknown',
      replaces: { kind: observation.kind },
      fence: { kind: 'all-others' },
    };
  }
  const { record } = observation;
  const replaces: LeaseVersion = {
    kind: 'version',
    fencingToken: record.fencingToken,
    expiresAtMs: record.expiresAtMs,
  };
  // A holder that had not finished fencing everyone passes that duty on, whatever else holds.
  const pending = record.fenceAllPending === true;
  const plan = (otherwise: FencePlan): FencePlan => (pending ? { kind: 'all-others' } : otherwise);
  if (record.releasedAtMs !== undefined) {
    const named = record.handedOverTo;
    if (named === selfId)
      return { kind: 'take', reason: 'handover', replaces, fence: plan({ kind: 'none' }) };
    if (named !== undefined && unchangedForMs <= timing.ttlMs + timing.clockSkewMs)
      return { kind: 'wait', reason: 'handed-over-to-peer' };
    return { kind: 'take', reason: 'released', replaces, fence: plan({ kind: 'none' }) };
  }
  if (record.holderId === selfId)
    return { kind: 'take', reason: 'own-earlier-run', replaces, fence: plan({ kind: 'none' }) };
  if (unchangedForMs <= timing.ttlMs + timing.clockSkewMs) return { kind: 'wait', reason: 'held-by-peer' };
  return {
    kind: 'take',
    reason: 'expired',
    replaces,
    fence: plan({ kind: 'holder', peerId: record.holderId }),
  };
}

/**
 * Whether a renewal's answer asks this holder to hand over: a standing request naming another instance (a stale
 * request is void, so a forgotten one cannot move the primary later).
 */
export function handoverTarget(
  record: Pick<LeaseRecord, 'handover' | 'expiresAtMs'> | undefined,
  selfId: string,
): string | undefined {
  const request = standingHandover(record);
  if (!request || request.to === selfId) return undefined;
  return request.to;
}

/**
 * What one successful write of the lease buys, stamped from the clocks read just BEFORE the request was sent:
 * the store keeps `expiresAtMs` (wall clock: read by the failover controller, and its change is what peers
 * watch), the holder keeps `selfFenceAtMonoMs` (its own monotonic clock), `selfFenceMarginMs` before expiry.
 * `expiresAtMs` always grows past `previousExpiresAtMs`, so that every write is a new version even when the
 * wall clock steps back.
 */
export function leaseStamp(
  clocks: { wallMs: number; monoMs: number },
  timing: Pick<LeaseTiming, 'ttlMs' | 'selfFenceMarginMs'>,
  previousExpiresAtMs = 0,
): { expiresAtMs: number; selfFenceAtMonoMs: number } {
  return {
    expiresAtMs: Math.max(clocks.wallMs + timing.ttlMs, previousExpiresAtMs + 1),
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
