import { leasePhase } from '../../shared/lease-table/lease-item';
import type { ObservedRouteTable } from '../../shared/vip-routes';
import type { FailoverConfig } from './config';
import { type Health, instanceHealth } from './ec2-state';
import { isInStage, type Observation, type ObservedInstance, type ObservedLease } from './observation';

/** Why the controller routes to an instance. */
type TargetBasis = 'lease-holder' | 'current-target' | 'longest-running';

interface RouteTarget {
  instanceId: string;
  basis: TargetBasis;
}

export interface RouteAction {
  kind: 'create-route' | 'replace-route';
  routeTableId: string;
  destinationCidrBlock: string;
  instanceId: string;
}

interface TableVerdict {
  routeTableId: string;
  verdict: 'in-sync' | 'create' | 'replace' | 'hold';
  /** The instance the route pointed at when observed, if any. */
  currentTarget: string | undefined;
  reason: string;
}

export interface Decision {
  /** change: at least one action; in-sync: every table already right; hold: something is wrong that the controller must not fix. */
  outcome: 'in-sync' | 'change' | 'hold';
  /** The one instance every route table should point at, when a safe one exists. */
  target: RouteTarget | undefined;
  reason: string;
  actions: RouteAction[];
  tables: TableVerdict[];
  /** No instance may receive the route: the alarmable condition. */
  noHealthyCandidate: boolean;
}

interface TargetChoice {
  target: RouteTarget | undefined;
  reason: string;
}

/** The stage's database instances as seen by the decision: health by id, and how to name one in a reason. */
interface Fleet {
  health(instanceId: string): Health | undefined;
  describe(instanceId: string): string;
}

/** Oldest launch first (unknown launch times last), then by id: the order the lease-less rule prefers. */
export function byLongestRunning(a: ObservedInstance, b: ObservedInstance): number {
  const launchA = a.launchTimeMs ?? Number.POSITIVE_INFINITY;
  const launchB = b.launchTimeMs ?? Number.POSITIVE_INFINITY;
  if (launchA !== launchB) return launchA < launchB ? -1 : 1;
  return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
}

function fleetOf(instances: ObservedInstance[]): Fleet {
  const byId = new Map(instances.map((instance) => [instance.instanceId, instance]));
  const health = (instanceId: string) => {
    const i = byId.get(instanceId);
    return i && instanceHealth(i.state, i.instanceStatus, i.systemStatus);
  };
  return {
    health,
    describe(instanceId) {
      const i = byId.get(instanceId);
      if (!i) return `${instanceId} is not a database instance of this stage`;
      return `${instanceId} is ${health(instanceId)} (${i.state}, checks ${i.instanceStatus}/${i.systemStatus})`;
    },
  };
}

function chooseByLease(
  lease: Exclude<ObservedLease, { kind: 'disabled' }>,
  nowMs: number,
  fleet: Fleet,
): TargetChoice {
  if (lease.kind === 'absent') return { target: undefined, reason: 'the lease table names no primary yet' };
  const { record } = lease;
  const { holderId } = record;
  switch (leasePhase(record, nowMs)) {
    // A release sets expiresAtMs to 0: say when it was released, not how long ago the epoch was.
    case 'released':
      return {
        target: undefined,
        reason: `${holderId} released the lease ${nowMs - (record.releasedAtMs ?? 0)} ms ago`,
      };
    case 'expired':
      return {
        target: undefined,
        reason: `the lease of ${holderId} expired ${nowMs - record.expiresAtMs} ms ago`,
      };
    case 'starting':
      return { target: undefined, reason: `lease holder ${holderId} has not become primary yet` };
    case 'serving':
    case 'handover-pending':
      break;
  }
  if (fleet.health(holderId) !== 'healthy') {
    return { target: undefined, reason: `lease holder ${fleet.describe(holderId)}, not a healthy candidate` };
  }
  return {
    target: { instanceId: holderId, basis: 'lease-holder' },
    reason: `lease holder ${holderId} is primary`,
  };
}

/** Without a lease: keep the healthy instance the routes already use (the most used one), else the oldest. */
function chooseWithoutLease(
  candidates: ObservedInstance[],
  tables: ObservedRouteTable[],
  fleet: Fleet,
): TargetChoice {
  if (candidates.length === 0) {
    return { target: undefined, reason: 'no healthy candidate (running, instance and system status ok)' };
  }
  const uses = new Map<string, number>();
  for (const { route } of tables) {
    if (route?.state === 'active' && route.instanceId && fleet.health(route.instanceId) === 'healthy') {
      uses.set(route.instanceId, (uses.get(route.instanceId) ?? 0) + 1);
    }
  }
  const current = candidates
    .filter((instance) => uses.has(instance.instanceId))
    .sort(
      (a, b) => (uses.get(b.instanceId) ?? 0) - (uses.get(a.instanceId) ?? 0) || byLongestRunning(a, b),
    )[0];
  if (current) {
    return {
      target: { instanceId: current.instanceId, basis: 'current-target' },
      reason: `the route already uses healthy ${current.instanceId}`,
    };
  }
  const oldest = [...candidates].sort(byLongestRunning)[0];
  if (!oldest) throw new Error('unreachable: candidates is not empty');
  return {
    target: { instanceId: oldest.instanceId, basis: 'longest-running' },
    reason: `${oldest.instanceId} is the longest-running healthy candidate`,
  };
}

function verdictFor(table: ObservedRouteTable, choice: TargetChoice, fleet: Fleet): TableVerdict {
  const { routeTableId, route } = table;
  const { target } = choice;
  const hold = (reason: string): TableVerdict => ({
    routeTableId,
    verdict: 'hold',
    currentTarget: route?.instanceId,
    reason,
  });
  const change = (verdict: 'create' | 'replace', reason: string): TableVerdict => ({
    routeTableId,
    verdict,
    currentTarget: route?.instanceId,
    reason,
  });

  if (route === undefined) {
    return target
      ? change('create', 'the route is missing')
      : hold(`the route is missing and ${choice.reason}`);
  }
  if (route.state === 'unknown') return hold('the route is in a state not recognised; not acting');
  if (route.state === 'blackhole') {
    const why = `the route is a blackhole (its target ${route.instanceId ?? route.otherTarget ?? ''} is gone)`;
    return target ? change('replace', why) : hold(`${why} and ${choice.reason}`);
  }
  if (route.instanceId === undefined) {
    return hold(`the route targets ${route.otherTarget ?? 'something'} that is not an instance; left alone`);
  }
  if (target && route.instanceId === target.instanceId) {
    return { routeTableId, verdict: 'in-sync', currentTarget: route.instanceId, reason: choice.reason };
  }
  const health = fleet.health(route.instanceId);
  const current = `target ${fleet.describe(route.instanceId)}`;
  if (health === 'unknown') return hold(`${current}: a state not recognised; not acting`);
  if (!target) return hold(`${current} and ${choice.reason}`);
  if (health === 'healthy') return change('replace', `${current} but ${choice.reason}`);
  return change('replace', current);
}

function summarise(tables: TableVerdict[], choice: TargetChoice, stage: string): string {
  if (tables.length === 0) return `no route table carries database=true and cloudy:stage=${stage}`;
  const target = choice.target
    ? `target ${choice.target.instanceId} (${choice.reason})`
    : `no target: ${choice.reason}`;
  const notInSync = tables.filter((table) => table.verdict !== 'in-sync');
  if (notInSync.length === 0) return `every route already points at the ${target}`;
  return [
    target,
    ...notInSync.map((table) => `${table.routeTableId} ${table.verdict}: ${table.reason}`),
  ].join('; ');
}

/**
 * The controller's whole judgement, as a pure function of what it observed: which instance should carry the
 * virtual IP, and which route changes get it there. Only the stage's own instances and route tables count
 * (tags are checked here again, whatever the Describe filters returned). It never deletes a route, never
 * points one at an instance that is not a healthy candidate, and leaves alone anything in an unknown state.
 */
export function decide(observation: Observation, config: FailoverConfig): Decision {
  const instances = observation.instances.filter((instance) => isInStage(instance.tags, config.stage));
  const fleet = fleetOf(instances);
  const candidates = instances.filter((instance) => fleet.health(instance.instanceId) === 'healthy');
  const tables = observation.routeTables
    .filter((table) => isInStage(table.tags, config.stage))
    .sort((a, b) => (a.routeTableId < b.routeTableId ? -1 : a.routeTableId > b.routeTableId ? 1 : 0));

  const choice =
    observation.lease.kind === 'disabled'
      ? chooseWithoutLease(candidates, tables, fleet)
      : chooseByLease(observation.lease, observation.nowMs, fleet);
  const verdicts = tables.map((table) => verdictFor(table, choice, fleet));
  const actions: RouteAction[] = [];
  for (const verdict of verdicts) {
    if ((verdict.verdict === 'create' || verdict.verdict === 'replace') && choice.target) {
      actions.push({
        kind: verdict.verdict === 'create' ? 'create-route' : 'replace-route',
        routeTableId: verdict.routeTableId,
        destinationCidrBlock: config.destinationCidrBlock,
        instanceId: choice.target.instanceId,
      });
    }
  }
  const outcome =
    actions.length > 0
      ? 'change'
      : verdicts.length > 0 && verdicts.every((v) => v.verdict === 'in-sync')
        ? 'in-sync'
        : 'hold';
  return {
    outcome,
    target: choice.target,
    reason: summarise(verdicts, choice, config.stage),
    actions,
    tables: verdicts,
    noHealthyCandidate: choice.target === undefined && tables.length > 0,
  };
}
