import type { ObservedLease } from '../../handlers/failover/observation';
import { type LeaseRecord, standingHandover } from '../../shared/lease-table/lease-item';

/** Where a requested handover from `from` (lease generation `fencingToken`) to `to` stands. */
export type SwitchoverPhase =
  /** Not acted on yet; `standing` false once the request is void (standingHandover). */
  | { kind: 'requested'; standing: boolean }
  /** The holder acted: it is stopping PostgreSQL (its renewals publish since when), not released yet. */
  | { kind: 'stopping'; record: LeaseRecord }
  | { kind: 'released'; record: LeaseRecord }
  | { kind: 'taken'; record: LeaseRecord }
  | { kind: 'primary'; record: LeaseRecord }
  | { kind: 'taken-by-other'; record: LeaseRecord }
  | { kind: 'lease-gone' };

/** Reads one observation of the lease as a step of the handover; pure, so the steps are table-tested. */
export function switchoverPhase(
  lease: ObservedLease,
  plan: { from: string; to: string; fencingToken: number },
): SwitchoverPhase {
  if (lease.kind !== 'present') return { kind: 'lease-gone' };
  const { record } = lease;
  if (record.fencingToken === plan.fencingToken) {
    if (record.releasedAtMs !== undefined) return { kind: 'released', record };
    if (record.writesStoppedAtMs !== undefined) return { kind: 'stopping', record };
    return { kind: 'requested', standing: standingHandover(record)?.to === plan.to };
  }
  if (record.fencingToken < plan.fencingToken) return { kind: 'lease-gone' };
  if (record.holderId !== plan.to) return { kind: 'taken-by-other', record };
  return record.primarySinceMs === undefined ? { kind: 'taken', record } : { kind: 'primary', record };
}

/**
 * The write outage as the sidecars recorded it: from the old primary beginning its fast shutdown (its writes end)
 * to the new primary accepting connections with the route moved. Two machines' wall clocks (NTP-synchronised on
 * EC2, one clock locally).
 */
export function measuredWriteOutageMs(
  record: LeaseRecord,
  plan: { fencingToken: number },
): number | undefined {
  const takeover = record.takeovers?.find(
    (t) => t.fencingToken > plan.fencingToken && t.reason === 'handover',
  );
  if (takeover?.primarySinceMs === undefined || takeover.previousWritesStoppedAtMs === undefined)
    return undefined;
  return takeover.primarySinceMs - takeover.previousWritesStoppedAtMs;
}
