import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailoverConfig } from '../../../handlers/failover/config';
import { type Decision, decide, type RouteAction } from '../../../handlers/failover/decide';
import type { Observation } from '../../../handlers/failover/observation';
import {
  CIDR,
  foreign,
  instance,
  lease,
  leaseConfig,
  leaselessConfig,
  routeTo,
  STAGE,
  table,
  world,
} from './world';

const a = instance('i-0aaa', 120);
const b = instance('i-0bbb', 30);

function create(routeTableId: string, instanceId: string): RouteAction {
  return { kind: 'create-route', routeTableId, destinationCidrBlock: CIDR, instanceId };
}
function replace(routeTableId: string, instanceId: string): RouteAction {
  return { kind: 'replace-route', routeTableId, destinationCidrBlock: CIDR, instanceId };
}

interface Row {
  name: string;
  observed: Observation;
  config?: FailoverConfig;
  outcome: Decision['outcome'];
  actions: RouteAction[];
  noHealthyCandidate?: boolean;
  /** A fragment the decision's reason must contain, so that a reader of the log learns why. */
  reason?: RegExp;
}

const rows: Row[] = [
  {
    name: 'in sync: the route points at a healthy candidate, no mutation',
    observed: world([a, b], [table('rtb-1', routeTo(a.instanceId))]),
    outcome: 'in-sync',
    actions: [],
  },
  {
    name: 'in sync with the lease: the route points at the primary, no mutation',
    observed: world([a, b], [table('rtb-1', routeTo(b.instanceId))], lease(b.instanceId)),
    config: leaseConfig,
    outcome: 'in-sync',
    actions: [],
  },
  {
    name: 'route missing: created to the longest-running healthy candidate',
    observed: world([b, a], [table('rtb-1', undefined)]),
    outcome: 'change',
    actions: [create('rtb-1', a.instanceId)],
    reason: /longest-running/,
  },
  ...(['stopping', 'stopped', 'shutting-down', 'terminated'] as const).map(
    (state): Row => ({
      name: `target ${state}: replaced by the healthy candidate`,
      observed: world([{ ...a, state }, b], [table('rtb-1', routeTo(a.instanceId))]),
      outcome: 'change',
      actions: [replace('rtb-1', b.instanceId)],
    }),
  ),
  {
    name: 'target impaired (instance check): replaced',
    observed: world([{ ...a, instanceStatus: 'impaired' }, b], [table('rtb-1', routeTo(a.instanceId))]),
    outcome: 'change',
    actions: [replace('rtb-1', b.instanceId)],
    reason: /impaired/,
  },
  {
    name: 'target impaired (system check): replaced',
    observed: world([{ ...a, systemStatus: 'impaired' }, b], [table('rtb-1', routeTo(a.instanceId))]),
    outcome: 'change',
    actions: [replace('rtb-1', b.instanceId)],
  },
  {
    name: 'blackhole: replaced by a healthy candidate',
    observed: world([b], [table('rtb-1', routeTo(a.instanceId, 'blackhole'))]),
    outcome: 'change',
    actions: [replace('rtb-1', b.instanceId)],
    reason: /blackhole|longest-running/,
  },
  {
    name: 'no healthy candidate: the route to a stopped target is kept, not deleted nor replaced',
    observed: world(
      [
        { ...a, state: 'stopped' },
        { ...b, instanceStatus: 'impaired' },
      ],
      [table('rtb-1', routeTo(a.instanceId))],
    ),
    outcome: 'hold',
    actions: [],
    noHealthyCandidate: true,
    reason: /no healthy candidate/,
  },
  {
    name: 'no healthy candidate: a missing route is not created',
    observed: world([{ ...a, state: 'pending' }], [table('rtb-1', undefined)]),
    outcome: 'hold',
    actions: [],
    noHealthyCandidate: true,
  },
  {
    name: 'no healthy candidate: a blackhole stays a blackhole',
    observed: world([], [table('rtb-1', routeTo(a.instanceId, 'blackhole'))]),
    outcome: 'hold',
    actions: [],
    noHealthyCandidate: true,
  },
  {
    name: 'lease holder differs from the route target: replaced to the holder, though the target is healthy',
    observed: world([a, b], [table('rtb-1', routeTo(a.instanceId))], lease(b.instanceId)),
    config: leaseConfig,
    outcome: 'change',
    actions: [replace('rtb-1', b.instanceId)],
    reason: /lease holder i-0bbb is primary/,
  },
  {
    name: 'lease holder unhealthy: nothing changes, even though another candidate is healthy',
    observed: world(
      [a, { ...b, systemStatus: 'impaired' }],
      [table('rtb-1', routeTo(a.instanceId))],
      lease(b.instanceId),
    ),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
    noHealthyCandidate: true,
    reason: /lease holder i-0bbb is impaired/,
  },
  {
    name: 'lease holder not yet primary (PostgreSQL not accepting): the route is not moved to it',
    observed: world([a, b], [table('rtb-1', undefined)], lease(b.instanceId, { primarySinceMs: undefined })),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
    noHealthyCandidate: true,
    reason: /not become primary/,
  },
  {
    name: 'lease expired: no route change while the next holder takes over',
    observed: world(
      [a, b],
      [table('rtb-1', routeTo(a.instanceId, 'blackhole'))],
      lease(b.instanceId, { expiresAtMs: Date.parse('2026-01-01T11:59:59Z') }),
    ),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
    reason: /expired 1000 ms ago/,
  },
  {
    name: 'lease released: no route change while the next holder takes over, and the reason says so',
    observed: world(
      [a, b],
      [table('rtb-1', routeTo(a.instanceId))],
      lease(a.instanceId, { expiresAtMs: 0, releasedAtMs: Date.parse('2026-01-01T11:59:58Z') }),
    ),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
    reason: /i-0aaa released the lease 2000 ms ago/,
  },
  {
    name: 'lease table empty: no route change',
    observed: world([a, b], [table('rtb-1', undefined)], { kind: 'absent' }),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
    reason: /names no primary/,
  },
  {
    name: 'lease held by an instance of another stage: never routed to',
    observed: world(
      [a, foreign(instance('i-0fff', 10))],
      [table('rtb-1', routeTo(a.instanceId))],
      lease('i-0fff'),
    ),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
    reason: /not a database instance of this stage/,
  },
  {
    name: 'two route tables: only the one that is wrong changes',
    observed: world([a, b], [table('rtb-2', undefined), table('rtb-1', routeTo(a.instanceId))]),
    outcome: 'change',
    actions: [create('rtb-2', a.instanceId)],
  },
  {
    name: 'two route tables on different healthy targets: converge on the more used, then the older',
    observed: world(
      [a, b],
      [
        table('rtb-1', routeTo(b.instanceId)),
        table('rtb-2', routeTo(a.instanceId)),
        table('rtb-3', undefined),
      ],
    ),
    outcome: 'change',
    actions: [replace('rtb-1', a.instanceId), create('rtb-3', a.instanceId)],
  },
  {
    name: 'foreign-stage instances and route tables present: never chosen, never touched',
    observed: world(
      [foreign(instance('i-0fff', 999)), b],
      [table('rtb-1', undefined), table('rtb-f', undefined, 'staging')],
    ),
    outcome: 'change',
    actions: [create('rtb-1', b.instanceId)],
  },
  {
    name: 'route pointing at an instance of another stage: replaced',
    observed: world([foreign(instance('i-0fff', 999)), b], [table('rtb-1', routeTo('i-0fff'))]),
    outcome: 'change',
    actions: [replace('rtb-1', b.instanceId)],
    reason: /not a database instance of this stage/,
  },
  {
    name: 'target in an unknown state: no action on it',
    observed: world([{ ...a, state: 'unknown' }, b], [table('rtb-1', routeTo(a.instanceId))]),
    outcome: 'hold',
    actions: [],
    reason: /not recognised/,
  },
  {
    name: 'target with status checks lacking data: treated as unknown, no action',
    observed: world(
      [{ ...a, instanceStatus: 'insufficient-data' }, b],
      [table('rtb-1', routeTo(a.instanceId))],
      lease(b.instanceId),
    ),
    config: leaseConfig,
    outcome: 'hold',
    actions: [],
  },
  {
    name: 'unknown, pending and initializing instances are never chosen',
    observed: world(
      [
        instance('i-0old', 900, { state: 'unknown' }),
        instance('i-0pen', 800, { state: 'pending' }),
        instance('i-0ini', 700, { instanceStatus: 'initializing', systemStatus: 'initializing' }),
        b,
      ],
      [table('rtb-1', undefined)],
    ),
    outcome: 'change',
    actions: [create('rtb-1', b.instanceId)],
  },
  {
    name: 'route state not recognised: no action',
    observed: world(
      [a, b],
      [table('rtb-1', { state: 'unknown', instanceId: 'i-0zzz', otherTarget: undefined })],
    ),
    outcome: 'hold',
    actions: [],
  },
  {
    name: 'route to something that is not an instance (an ENI, a gateway): left alone',
    observed: world(
      [a],
      [table('rtb-1', { state: 'active', instanceId: undefined, otherTarget: 'eni-0123' })],
    ),
    outcome: 'hold',
    actions: [],
    reason: /eni-0123/,
  },
  {
    name: 'no route table of the stage: nothing to do, said so',
    observed: world([a], [table('rtb-f', undefined, 'staging')]),
    outcome: 'hold',
    actions: [],
    noHealthyCandidate: false,
    reason: new RegExp(`cloudy:stage=${STAGE}`),
  },
];

/** Applies a decision's actions to the observed world, as EC2 would. */
function applied(observed: Observation, decision: Decision): Observation {
  return {
    ...observed,
    routeTables: observed.routeTables.map((t) => {
      const action = decision.actions.find((x) => x.routeTableId === t.routeTableId);
      return action
        ? { ...t, route: { state: 'active', instanceId: action.instanceId, otherTarget: undefined } }
        : t;
    }),
  };
}

describe('decide', () => {
  for (const row of rows) {
    it(row.name, () => {
      // Prepare
      const config = row.config ?? leaselessConfig;

      // Act
      const decision = decide(row.observed, config);

      // Assess
      assert.equal(decision.outcome, row.outcome);
      assert.deepEqual(decision.actions, row.actions);
      if (row.noHealthyCandidate !== undefined)
        assert.equal(decision.noHealthyCandidate, row.noHealthyCandidate);
      if (row.reason) assert.match(decision.reason, row.reason);
      for (const action of decision.actions) assert.equal(action.instanceId, decision.target?.instanceId);
    });
  }

  it('dry run gives the same decision, for every world of the table', () => {
    for (const row of rows) {
      const config = row.config ?? leaselessConfig;
      assert.deepEqual(
        decide(row.observed, { ...config, dryRun: true }),
        decide(row.observed, config),
        row.name,
      );
    }
  });

  it('running twice changes nothing the second time', () => {
    for (const row of rows.filter((r) => r.outcome === 'change')) {
      const config = row.config ?? leaselessConfig;
      const second = decide(applied(row.observed, decide(row.observed, config)), config);
      assert.deepEqual(second.actions, [], row.name);
      assert.equal(second.outcome, 'in-sync', row.name);
    }
  });

  it('never routes to an instance that is not a healthy candidate of the stage, in any world of the table', () => {
    for (const row of rows) {
      const decision = decide(row.observed, row.config ?? leaselessConfig);
      const target = row.observed.instances.find((i) => i.instanceId === decision.target?.instanceId);
      if (decision.target === undefined) continue;
      assert.ok(target, row.name);
      assert.equal(target.state, 'running', row.name);
      assert.equal(target.instanceStatus, 'ok', row.name);
      assert.equal(target.systemStatus, 'ok', row.name);
      assert.equal(target.tags['cloudy:stage'], STAGE, row.name);
    }
  });
});
