import type { FailoverConfig } from '../../handlers/failover/config';
import { byLongestRunning } from '../../handlers/failover/decide';
import { instanceHealth } from '../../handlers/failover/ec2-state';
import { isInStage, type Observation, type ObservedInstance } from '../../handlers/failover/observation';
import {
  leasePhase,
  STANDBY_HEARTBEAT_INTERVAL_MS,
  standingHandover,
} from '../../shared/lease-table/lease-item';

export type SwitchoverPlan =
  | { kind: 'refuse'; reason: string }
  | { kind: 'go'; from: string; to: string; fencingToken: number; leaseExpiresAtMs: number };

// Three heartbeat intervals: one missed beat, and the reads' own delay, are not taken for a dead sidecar.
const HEARTBEAT_FRESH_MS = 3 * STANDBY_HEARTBEAT_INTERVAL_MS;
const SILENT =
  'its sidecar has not reported reading the lease (standby heartbeat) in the last ' +
  `${HEARTBEAT_FRESH_MS / 1000} s of the primary's renewals, so it could not take the lease`;

const health = (i: ObservedInstance) => instanceHealth(i.state, i.instanceStatus, i.systemStatus);

/**
 * May the primary be handed over now, and to whom? Only from a settled primary (lease held, not expired nor
 * released, published as primary, no other handover pending, every instance fenced) to a healthy standby of the
 * stage (running, both status checks ok, not the holder, its sidecar's heartbeat recent). Without `--to`, the
 * longest-running healthy standby.
 */
export function planSwitchover(input: {
  observation: Observation;
  config: FailoverConfig;
  requestedTarget: string | undefined;
  /** Per instance, the lease expiry its sidecar last reported having read (standbyHeartbeatKey); absent: none. */
  heartbeats: ReadonlyMap<string, number>;
}): SwitchoverPlan {
  const { observation, config, requestedTarget, heartbeats } = input;
  const { lease, nowMs } = observation;
  const refuse = (reason: string): SwitchoverPlan => ({ kind: 'refuse', reason });
  if (lease.kind === 'disabled') return refuse('the stage has no lease table configured');
  if (lease.kind === 'absent') return refuse('no sidecar holds the lease: there is no primary to hand over');
  const { record } = lease;
  const inProgress = 'a takeover is in progress';
  const phase = leasePhase(record, nowMs);
  if (phase === 'released')
    return refuse(`${inProgress}: ${record.holderId} released the lease and no one has taken it yet`);
  if (phase === 'expired')
    return refuse(
      `${inProgress}: the lease of ${record.holderId} expired ${nowMs - record.expiresAtMs} ms ago`,
    );
  if (record.fenceAllPending)
    return refuse(`${inProgress}: ${record.holderId} is still fencing the other instances`);
  if (phase === 'starting')
    return refuse(`${inProgress}: ${record.holderId} holds the lease but is not primary yet`);
  if (phase === 'handover-pending')
    return refuse(`a switchover to ${standingHandover(record)?.to} is already requested`);

  const generation = { fencingToken: record.fencingToken, leaseExpiresAtMs: record.expiresAtMs };
  // Both values come from the holder's clock: the standby read a lease renewed at most HEARTBEAT_FRESH_MS ago.
  const sidecarReads = (i: ObservedInstance) =>
    (heartbeats.get(i.instanceId) ?? Number.NEGATIVE_INFINITY) >= record.expiresAtMs - HEARTBEAT_FRESH_MS;
  const instances = observation.instances.filter((i) => isInStage(i.tags, config.stage));
  const standbys = instances.filter((i) => i.instanceId !== record.holderId);
  if (requestedTarget !== undefined) {
    if (requestedTarget === record.holderId) return refuse(`${requestedTarget} already is the primary`);
    const target = standbys.find((i) => i.instanceId === requestedTarget);
    if (!target) return refuse(`${requestedTarget} is not a database instance of stage ${config.stage}`);
    if (health(target) !== 'healthy') {
      return refuse(
        `${requestedTarget} is not a healthy standby: it is ${health(target)} ` +
          `(${target.state}, checks ${target.instanceStatus}/${target.systemStatus})`,
      );
    }
    if (!sidecarReads(target)) return refuse(`${requestedTarget} is not a healthy standby: ${SILENT}`);
    return { kind: 'go', from: record.holderId, to: requestedTarget, ...generation };
  }
  const healthy = standbys.filter((i) => health(i) === 'healthy' && sidecarReads(i)).sort(byLongestRunning);
  const chosen = healthy[0];
  if (!chosen) {
    const seen = standbys
      .map((i) => `${i.instanceId} ${health(i) === 'healthy' ? 'healthy, its sidecar silent' : health(i)}`)
      .join(', ');
    return refuse(
      `no healthy standby (running, both status checks ok, its sidecar reading the lease)${seen ? `: ${seen}` : ''}`,
    );
  }
  return { kind: 'go', from: record.holderId, to: chosen.instanceId, ...generation };
}
