import type { FailoverConfig } from '../../handlers/failover/config';
import type { Decision } from '../../handlers/failover/decide';
import { type Health, instanceHealth } from '../../handlers/failover/ec2-state';
import { isInStage, type Observation } from '../../handlers/failover/observation';
import { leasePhase, type Takeover } from '../../shared/lease-table/lease-item';

/**
 * What PostgreSQL is doing on an instance, as the lease says (no connection from the operator's machine):
 * only the holder runs it; the holder publishes each health probe's answer with its renewals.
 */
type PostgresState = 'answering' | 'not answering' | 'starting' | 'not running' | 'unknown';

interface InstanceStatus {
  instanceId: string;
  availabilityZone: string | null;
  state: string;
  instanceStatus: string;
  systemStatus: string;
  health: Health;
  leaseHolder: boolean;
  postgres: PostgresState;
}

interface LeaseStatus {
  holder: string;
  fencingToken: number;
  /** Negative once expired; a released lease has expired (its expiry is set to 0). */
  expiresInMs: number;
  released: boolean;
  primarySince: string | null;
  handoverRequest: { to: string; requestedAt: string; expiresInMs: number } | null;
  handedOverTo: string | null;
}

interface RouteStatus {
  routeTableId: string;
  target: string | null;
  inSync: boolean;
  verdict: string;
  reason: string;
}

interface TakeoverStatus {
  at: string;
  holder: string;
  fencingToken: number;
  reason: Takeover['reason'];
  fenced: Takeover['fenced'];
  previousHolder: string | null;
  /** From the lease's take to PostgreSQL accepting connections with the route moved. */
  primaryAfterMs: number | null;
  /** From the previous holder stopping PostgreSQL to the new primary: known only after a clean release. */
  writeOutageMs: number | null;
}

/** The `--json` shape of `npm run db -- status`. */
export interface StatusReport {
  stage: string;
  observedAt: string;
  virtualIp: string;
  instances: InstanceStatus[];
  lease: LeaseStatus | null;
  routeTables: RouteStatus[];
  controller: { outcome: Decision['outcome']; target: string | null; reason: string };
  takeovers: TakeoverStatus[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function postgresOn(instanceId: string, observation: Observation): PostgresState {
  const { lease, nowMs } = observation;
  if (lease.kind !== 'present') return 'unknown';
  const { record } = lease;
  if (record.holderId !== instanceId) return 'not running';
  const phase = leasePhase(record, nowMs);
  if (phase === 'released') return 'not running';
  if (phase === 'expired') return 'unknown';
  // Published as primary only once PostgreSQL accepted connections; the probes' answers follow with the renewals.
  if (record.postgresAnswering === undefined) return phase === 'starting' ? 'starting' : 'answering';
  return record.postgresAnswering ? 'answering' : 'not answering';
}

function leaseStatus(observation: Observation): LeaseStatus | null {
  const { lease, nowMs } = observation;
  if (lease.kind !== 'present') return null;
  const { record } = lease;
  return {
    holder: record.holderId,
    fencingToken: record.fencingToken,
    expiresInMs: record.expiresAtMs - nowMs,
    released: record.releasedAtMs !== undefined,
    primarySince: record.primarySinceMs === undefined ? null : iso(record.primarySinceMs),
    handoverRequest: record.handover
      ? {
          to: record.handover.to,
          requestedAt: iso(record.handover.requestedAtMs),
          // How long the holder's renewals take to carry the lease's expiry up to the request's (on its clock).
          expiresInMs: record.handover.expiresAtMs - record.expiresAtMs,
        }
      : null,
    handedOverTo: record.handedOverTo ?? null,
  };
}

function takeoverStatus(takeover: Takeover): TakeoverStatus {
  const { primarySinceMs, previousWritesStoppedAtMs } = takeover;
  return {
    at: iso(takeover.acquiredAtMs),
    holder: takeover.holderId,
    fencingToken: takeover.fencingToken,
    reason: takeover.reason,
    fenced: takeover.fenced,
    previousHolder: takeover.previousHolderId ?? null,
    primaryAfterMs: primarySinceMs === undefined ? null : primarySinceMs - takeover.acquiredAtMs,
    writeOutageMs:
      primarySinceMs === undefined || previousWritesStoppedAtMs === undefined
        ? null
        : primarySinceMs - previousWritesStoppedAtMs,
  };
}

/** Everything `db status` shows, from one observation and the controller's decision on it. */
export function buildStatus(
  observation: Observation,
  decision: Decision,
  config: FailoverConfig,
): StatusReport {
  const { lease } = observation;
  const holder = lease.kind === 'present' ? lease.record.holderId : undefined;
  const instances = observation.instances
    .filter((instance) => isInStage(instance.tags, config.stage))
    .sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1))
    .map((i) => ({
      instanceId: i.instanceId,
      availabilityZone: i.availabilityZone ?? null,
      state: i.state,
      instanceStatus: i.instanceStatus,
      systemStatus: i.systemStatus,
      health: instanceHealth(i.state, i.instanceStatus, i.systemStatus),
      leaseHolder: i.instanceId === holder,
      postgres: postgresOn(i.instanceId, observation),
    }));
  return {
    stage: config.stage,
    observedAt: iso(observation.nowMs),
    virtualIp: config.virtualIp,
    instances,
    lease: leaseStatus(observation),
    routeTables: decision.tables.map((table) => ({
      routeTableId: table.routeTableId,
      target: table.currentTarget ?? null,
      inSync: table.verdict === 'in-sync',
      verdict: table.verdict,
      reason: table.reason,
    })),
    controller: {
      outcome: decision.outcome,
      target: decision.target?.instanceId ?? null,
      reason: decision.reason,
    },
    takeovers: (lease.kind === 'present' ? (lease.record.takeovers ?? []) : []).map(takeoverStatus).reverse(),
  };
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd(),
  );
}

function leaseLines(lease: LeaseStatus | null): string[] {
  if (!lease) return ['  none: no sidecar has taken the lease yet'];
  const expiry = lease.released
    ? 'released'
    : lease.expiresInMs > 0
      ? `expires in ${seconds(lease.expiresInMs)}`
      : `EXPIRED ${seconds(-lease.expiresInMs)} ago`;
  const lines = [
    `  holder ${lease.holder}, fencing token ${lease.fencingToken}, ${expiry}, ` +
      (lease.primarySince ? `primary since ${lease.primarySince}` : 'not primary (yet)'),
  ];
  if (lease.handedOverTo)
    lines.push(`  handed over to ${lease.handedOverTo} (it takes the lease without fencing)`);
  if (lease.handoverRequest) {
    const { to, requestedAt, expiresInMs } = lease.handoverRequest;
    lines.push(
      `  switchover to ${to} requested at ${requestedAt}, ` +
        (expiresInMs > 0 ? `void in ${seconds(expiresInMs)}` : 'void (expired)'),
    );
  }
  return lines;
}

function takeoverLine(t: TakeoverStatus): string {
  const how =
    t.fenced === 'none'
      ? 'no fencing'
      : t.fenced === 'holder'
        ? 'fenced the previous holder'
        : 'fenced all others';
  const from = t.previousHolder ? ` from ${t.previousHolder}` : '';
  const primary =
    t.primaryAfterMs === null ? 'not primary yet' : `primary ${seconds(t.primaryAfterMs)} later`;
  const outage = t.writeOutageMs === null ? '' : `, write outage ${seconds(t.writeOutageMs)}`;
  return `  ${t.at}  ${t.holder} (token ${t.fencingToken}): ${t.reason}${from}, ${how}, ${primary}${outage}`;
}

/** The human screen: the same facts as the JSON, in the order an operator reads them. */
export function renderStatus(report: StatusReport): string {
  const instanceRows = [
    ['INSTANCE', 'AZ', 'EC2', 'CHECKS (instance/system)', 'HEALTH', 'LEASE', 'POSTGRESQL'],
    ...report.instances.map((i) => [
      i.instanceId,
      i.availabilityZone ?? '?',
      i.state,
      `${i.instanceStatus}/${i.systemStatus}`,
      i.health,
      i.leaseHolder ? 'holder' : '-',
      i.postgres,
    ]),
  ];
  const routeRows = report.routeTables.map((r) => [
    r.routeTableId,
    `→ ${r.target ?? '(none)'}`,
    r.inSync ? 'in sync' : `NOT in sync (${r.verdict}): ${r.reason}`,
  ]);
  return [
    `Stage ${report.stage}, observed at ${report.observedAt}`,
    '',
    'Database instances',
    ...(report.instances.length === 0 ? ['  none tagged for this stage'] : table(instanceRows)),
    '',
    'Lease',
    ...leaseLines(report.lease),
    '',
    `Virtual-IP routes (${report.virtualIp}/32)`,
    ...(routeRows.length === 0 ? ['  no route table tagged for this stage'] : table(routeRows)),
    '',
    `Failover controller (dry run): ${report.controller.outcome}`,
    `  ${report.controller.reason}`,
    '',
    'Last takeovers (newest first)',
    ...(report.takeovers.length === 0 ? ['  none recorded'] : report.takeovers.map(takeoverLine)),
    '',
  ].join('\n');
}
