import type { ActionResult } from './act';
import type { FailoverConfig } from './config';
import type { Decision } from './decide';
import { instanceHealth } from './ec2-state';
import { isInStage, type Observation } from './observation';

/** How a run ended, in one word for dashboards and log queries. */
export type RunResult =
  | 'in-sync'
  | 'changed'
  | 'dry-run'
  | 'held'
  | 'transient-error'
  | 'deadline'
  | 'failed';

export function runResult(decision: Decision, results: ActionResult[]): RunResult {
  if (results.some((result) => result.status === 'failed-configuration')) return 'failed';
  if (results.some((result) => result.status === 'failed-transient')) return 'transient-error';
  if (results.some((result) => result.status === 'skipped-deadline')) return 'deadline';
  if (results.some((result) => result.status === 'dry-run')) return 'dry-run';
  if (results.some((result) => result.status === 'applied')) return 'changed';
  return decision.outcome === 'in-sync' ? 'in-sync' : 'held';
}

/** The observation in a form short enough for one log line. */
export function summariseObservation(observation: Observation, config: FailoverConfig) {
  const { lease } = observation;
  return {
    instances: observation.instances.map((i) => ({
      id: i.instanceId,
      state: i.state,
      instanceStatus: i.instanceStatus,
      systemStatus: i.systemStatus,
      health: instanceHealth(i.state, i.instanceStatus, i.systemStatus),
      inStage: isInStage(i.tags, config.stage),
    })),
    routeTables: observation.routeTables.map((t) => ({
      id: t.routeTableId,
      inStage: isInStage(t.tags, config.stage),
      route: t.route
        ? { state: t.route.state, target: t.route.instanceId ?? t.route.otherTarget }
        : 'missing',
    })),
    lease:
      lease.kind === 'present'
        ? {
            holderId: lease.record.holderId,
            fencingToken: lease.record.fencingToken,
            expiresInMs: lease.record.expiresAtMs - observation.nowMs,
            primary: lease.record.primarySinceMs !== undefined,
          }
        : lease.kind,
  };
}

export function summariseDecision(decision: Decision) {
  return {
    outcome: decision.outcome,
    target: decision.target,
    tables: decision.tables,
    actions: decision.actions.map(
      (a) => `${a.kind} ${a.routeTableId} ${a.destinationCidrBlock} -> ${a.instanceId}`,
    ),
  };
}

export function summariseResults(results: ActionResult[]) {
  return results.map(({ action, status, error }) => ({
    routeTableId: action.routeTableId,
    kind: action.kind,
    instanceId: action.instanceId,
    status,
    ...(error ? { error } : {}),
  }));
}
