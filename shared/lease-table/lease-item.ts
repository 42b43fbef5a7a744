import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The lease table's items: their format and their readings, in one place (the writes are beside this file).
 *
 * The table (one per stage, resources/database-instances.yml) has the string key `lockName` and two kinds of item:
 * - **the lease** (`lockName` = the lease name, LEASE_NAME by default): which database instance may run
 *   PostgreSQL on the shared data directory. Written only with conditional writes: by the sidecars (take,
 *   renew, publish as primary, release: holder-writes.ts) and by `npm run db -- switchover` (a handover request
 *   and its withdrawal, attributes the sidecars' conditions never look at: handover-writes.ts). Read by the
 *   sidecars, the failover controller, the `db` commands and the boot script's readiness gate (readLease).
 * - **a standby's heartbeat** (`<lease name>/standby/<instance id>`): written by each waiting standby's sidecar,
 *   read by `db switchover` (standby-heartbeat.ts). Never the lease item, so no lease write or condition sees it.
 *
 * `leasePhase` is the one reading of the item against a clock; the sidecars never use it (a standby judges expiry
 * by how long the item went unchanged on its own monotonic clock, lease-decisions.ts), everyone else does.
 */

/** The table's key attribute. */
export const LEASE_KEY_ATTRIBUTE = 'lockName';

/** The lease item's name unless LEASE_NAME says otherwise (location.ts). */
export const LEASE_NAME = 'database-primary';

export function leaseKey(leaseName: string): Record<string, AttributeValue> {
  return { [LEASE_KEY_ATTRIBUTE]: { S: leaseName } };
}

/**
 * A standby's heartbeat: an item of its own in the lease table (never the lease item, so no lease write or its
 * condition ever sees it), written by the standby's sidecar while it waits. `seenLeaseExpiresAtMs` is the lease's
 * `expiresAtMs` in the standby's latest read: a value of the holder's clock, so whoever compares it with the
 * lease's current `expiresAtMs` learns how recently the standby's sidecar read the lease without comparing clocks.
 */
/** How often a waiting standby writes its heartbeat. */
export const STANDBY_HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * The lease table's TTL attribute (epoch seconds, resources/database-instances.yml): only heartbeat items carry it,
 * so DynamoDB removes the heartbeats of instances long gone and never the lease item.
 */
export const HEARTBEAT_TTL_ATTRIBUTE = 'deleteAfterEpochSeconds';
/** A heartbeat nobody renews is kept this long past the lease expiry it last saw. */
export const HEARTBEAT_KEPT_MS = 24 * 60 * 60_000;

export function standbyHeartbeatKey(leaseName: string, instanceId: string): string {
  return `${leaseName}/standby/${instanceId}`;
}

export interface LeaseRecord {
  /** EC2 instance id of the holder. */
  holderId: string;
  /**
   * Grows by one with every new holder. What it guards: the lease's generations (every take is a compare-and-swap
   * on it, every holder write is conditional on it) and the start of PostgreSQL (a holder records it beside PGDATA
   * and refuses to start if a later one is recorded there). It does not fence a running server's writes: nothing
   * checks it once PostgreSQL runs; the fence (a forced stop) and self-fencing do that.
   */
  fencingToken: number;
  /** Epoch milliseconds after which the lease is free unless renewed. */
  expiresAtMs: number;
  /** Set once the holder's PostgreSQL accepts connections and it has taken the virtual IP. */
  primarySinceMs?: number;
  /**
   * Set while the holder has not yet fenced every other database instance (it took the lease when the holder was
   * unknown: item absent or malformed). Whoever takes the lease over from it must fence them all too.
   */
  fenceAllPending?: boolean;
  /** Set by the holder with each renewal once it probes PostgreSQL: whether the last probe was answered. */
  postgresAnswering?: boolean;
  /** A planned handover asked of the holder (`npm run db -- switchover`); acted on only before it expires. */
  handover?: HandoverRequest;
  /** Set by a release that hands the lease to this named standby (the others wait for it, for a while). */
  handedOverTo?: string;
  /** When the releasing holder began to stop PostgreSQL (its writes ended), for the write outage. */
  writesStoppedAtMs?: number;
  /** Set when the holder released the lease (PostgreSQL stopped first). */
  releasedAtMs?: number;
  /** The latest takeovers, oldest first, at most MAX_TAKEOVERS: each new holder appends its own. */
  takeovers?: Takeover[];
}

export interface HandoverRequest {
  /** The standby that is to take the lease. */
  to: string;
  /** The requester's wall clock: with `to`, what names this request (for its withdrawal). */
  requestedAtMs: number;
  /**
   * On the holder's wall clock (the lease's `expiresAtMs` the requester read + the request's lifetime): the request
   * is void once the lease's own `expiresAtMs` reaches it (standingHandover).
   */
  expiresAtMs: number;
}

/**
 * The handover request the holder is to act on, if any: one not yet void. Judged on the item alone, from two
 * values the holder stamped from its own clock (every renewal writes its wall clock + TTL), so the requester's
 * clock plays no part, and the sidecar, the CLI and DynamoDB's condition all judge it alike.
 */
export function standingHandover(
  record: Pick<LeaseRecord, 'handover' | 'expiresAtMs'> | undefined,
): HandoverRequest | undefined {
  const request = record?.handover;
  return request && request.expiresAtMs > record.expiresAtMs ? request : undefined;
}

/** Why a sidecar took the lease (ec2/sidecar/lease/lease-decisions.ts). */
export type TakeReason = 'holder-unknown' | 'released' | 'handover' | 'own-earlier-run' | 'expired';

/** One change of holder, as the new holder recorded it on the lease item. */
export interface Takeover {
  holderId: string;
  fencingToken: number;
  reason: TakeReason;
  /** Whom the new holder fenced first: nobody (a clean release), the previous holder, or every other instance. */
  fenced: 'none' | 'holder' | 'all-others';
  previousHolderId?: string;
  acquiredAtMs: number;
  /** When the previous holder began to stop PostgreSQL, if it released the lease. */
  previousWritesStoppedAtMs?: number;
  /** When the new holder became primary (PostgreSQL accepting connections, route moved). */
  primarySinceMs?: number;
}

/** Enough to read the last few takeovers in `db status`, and small enough to keep the item tiny. */
const MAX_TAKEOVERS = 5;

const TAKE_REASONS: readonly TakeReason[] = [
  'holder-unknown',
  'released',
  'handover',
  'own-earlier-run',
  'expired',
];
const FENCED: readonly Takeover['fenced'][] = ['none', 'holder', 'all-others'];

/** The list with `takeover` appended, keeping the newest MAX_TAKEOVERS. */
export function withTakeover(previous: readonly Takeover[], takeover: Takeover): Takeover[] {
  return [...previous, takeover].slice(-MAX_TAKEOVERS);
}

/** The list with its newest entry marked primary (the holder's own, appended when it took the lease). */
export function withPrimarySince(takeovers: readonly Takeover[], primarySinceMs: number): Takeover[] {
  const last = takeovers.at(-1);
  return last ? [...takeovers.slice(0, -1), { ...last, primarySinceMs }] : [];
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function parseTakeover(value: unknown): Takeover | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const reason = TAKE_REASONS.find((r) => r === v.reason);
  const fenced = FENCED.find((f) => f === v.fenced);
  if (typeof v.holderId !== 'string' || !isNumber(v.fencingToken) || !isNumber(v.acquiredAtMs))
    return undefined;
  if (!reason || !fenced) return undefined;
  return {
    holderId: v.holderId,
    fencingToken: v.fencingToken,
    reason,
    fenced,
    acquiredAtMs: v.acquiredAtMs,
    ...(typeof v.previousHolderId === 'string' ? { previousHolderId: v.previousHolderId } : {}),
    ...(isNumber(v.previousWritesStoppedAtMs)
      ? { previousWritesStoppedAtMs: v.previousWritesStoppedAtMs }
      : {}),
    ...(isNumber(v.primarySinceMs) ? { primarySinceMs: v.primarySinceMs } : {}),
  };
}

/** Stored as one JSON string attribute; an unreadable list reads as empty (it is for people, not for safety). */
function parseTakeovers(value: AttributeValue | undefined): Takeover[] | undefined {
  if (value?.S === undefined) return undefined;
  try {
    const list: unknown = JSON.parse(value.S);
    if (!Array.isArray(list)) return [];
    return list.map(parseTakeover).filter((t): t is Takeover => t !== undefined);
  } catch {
    return [];
  }
}

export function takeoversAttribute(takeovers: readonly Takeover[]): AttributeValue {
  return { S: JSON.stringify(takeovers) };
}

function numberAttribute(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const n = Number(value.N);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads the raw DynamoDB item; undefined when malformed (the sidecar then treats the holder as unknown). */
export function parseLeaseItem(item: Record<string, AttributeValue> | undefined): LeaseRecord | undefined {
  const holderId = item?.holderId?.S;
  const fencingToken = numberAttribute(item?.fencingToken);
  const expiresAtMs = numberAttribute(item?.expiresAtMs);
  if (!holderId || fencingToken === undefined || expiresAtMs === undefined) return undefined;
  const primarySinceMs = numberAttribute(item?.primarySinceMs);
  const handoverTo = item?.handoverTo?.S;
  const handoverRequestedAtMs = numberAttribute(item?.handoverRequestedAtMs);
  const handoverExpiresAtMs = numberAttribute(item?.handoverExpiresAtMs);
  const writesStoppedAtMs = numberAttribute(item?.writesStoppedAtMs);
  const releasedAtMs = numberAttribute(item?.releasedAtMs);
  const takeovers = parseTakeovers(item?.takeovers);
  return {
    holderId,
    fencingToken,
    expiresAtMs,
    ...(primarySinceMs === undefined ? {} : { primarySinceMs }),
    ...(item?.fenceAllPending?.BOOL === true ? { fenceAllPending: true } : {}),
    ...(item?.postgresAnswering?.BOOL === undefined
      ? {}
      : { postgresAnswering: item.postgresAnswering.BOOL }),
    ...(handoverTo && handoverRequestedAtMs !== undefined && handoverExpiresAtMs !== undefined
      ? {
          handover: {
            to: handoverTo,
            requestedAtMs: handoverRequestedAtMs,
            expiresAtMs: handoverExpiresAtMs,
          },
        }
      : {}),
    ...(item?.handedOverTo?.S ? { handedOverTo: item.handedOverTo.S } : {}),
    ...(writesStoppedAtMs === undefined ? {} : { writesStoppedAtMs }),
    ...(releasedAtMs === undefined ? {} : { releasedAtMs }),
    ...(takeovers === undefined ? {} : { takeovers }),
  };
}

/** One consistent read of the lease item. */
export type LeaseObservation =
  | { kind: 'absent' }
  /** An item the format above cannot read: its holder is unknown. */
  | { kind: 'malformed' }
  | { kind: 'present'; record: LeaseRecord };

/** What a raw item reads as. */
export function observeLeaseItem(item: Record<string, AttributeValue> | undefined): LeaseObservation {
  if (!item) return { kind: 'absent' };
  const record = parseLeaseItem(item);
  return record ? { kind: 'present', record } : { kind: 'malformed' };
}

/** The exact item a take replaces (compare-and-swap): a concurrent writer makes the take fail. */
export type LeaseVersion =
  | { kind: 'absent' }
  | { kind: 'malformed' }
  | { kind: 'version'; fencingToken: number; expiresAtMs: number };

/** The fencing token a take writes: one past the replaced one, or `seedToken` when there is none to read. */
export function tokenAfter(replaces: LeaseVersion, seedToken: number): number {
  return replaces.kind === 'version' ? replaces.fencingToken + 1 : seedToken;
}

/**
 * Where a held lease stands, judged against the reader's own wall clock (`nowMs`), as the failover controller,
 * the `db` commands and the boot script's readiness gate read it:
 * - `released`: its holder stopped PostgreSQL and released it (a release also sets `expiresAtMs` to 0);
 * - `expired`: not renewed in time (by this reader's clock);
 * - `starting`: held, the holder not yet published as primary (fencing, crash recovery, the route);
 * - `serving`: the holder's PostgreSQL accepts connections and the virtual-IP route points at it;
 * - `handover-pending`: serving, with a standing handover request (standingHandover) not yet acted on.
 */
export type LeasePhase = 'released' | 'expired' | 'starting' | 'serving' | 'handover-pending';

export function leasePhase(
  record: Pick<LeaseRecord, 'releasedAtMs' | 'expiresAtMs' | 'primarySinceMs' | 'handover'>,
  nowMs: number,
): LeasePhase {
  if (record.releasedAtMs !== undefined) return 'released';
  if (record.expiresAtMs <= nowMs) return 'expired';
  if (record.primarySinceMs === undefined) return 'starting';
  return standingHandover(record) ? 'handover-pending' : 'serving';
}

/** Whether the phase is one where the holder serves as primary. */
export function isServing(phase: LeasePhase): boolean {
  return phase === 'serving' || phase === 'handover-pending';
}

/** The holder of a lease that serves as primary now (by `nowMs`, the reader's clock), if any. */
export function servingHolder(lease: LeaseObservation, nowMs: number): string | undefined {
  if (lease.kind !== 'present') return undefined;
  return isServing(leasePhase(lease.record, nowMs)) ? lease.record.holderId : undefined;
}
