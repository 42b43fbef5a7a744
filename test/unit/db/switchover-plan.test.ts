import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedInstance, ObservedLease } from '../../../handlers/failover/observation';
import { planSwitchover, type SwitchoverPlan } from '../../../scripts/db/switchover-plan';
import { foreign, instance, lease, leaseConfig, NOW_MS, world } from '../failover/world';

const primary = instance('i-primary', 300);
const older = instance('i-older', 200);
const newer = instance('i-newer', 100);
const impaired = instance('i-impaired', 400, { instanceStatus: 'impaired' });
const stopped = instance('i-stopped', 500, {
  state: 'stopped',
  instanceStatus: 'not-applicable',
  systemStatus: 'not-applicable',
});
const starting = instance('i-starting', 1, { instanceStatus: 'initializing', systemStatus: 'initializing' });

// The lease as its holder last renewed it (test/unit/failover/world.ts).
const LEASE_EXPIRES = NOW_MS + 10_000;

describe('planSwitchover', () => {
  const table: {
    name: string;
    instances: ObservedInstance[];
    lease: ObservedLease;
    to?: string;
    /** Default: every instance's sidecar read the current lease. */
    heartbeats?: Map<string, number>;
    expected: SwitchoverPlan;
  }[] = [
    {
      name: 'the longest-running healthy standby is silent (no heartbeat): the next one',
      instances: [primary, newer, older],
      lease: lease('i-primary'),
      heartbeats: new Map([['i-newer', LEASE_EXPIRES - 15_000]]),
      expected: {
        kind: 'go',
        from: 'i-primary',
        to: 'i-newer',
        fencingToken: 7,
        leaseExpiresAtMs: LEASE_EXPIRES,
      },
    },
    {
      name: 'a named standby whose sidecar last read a lease more than 15 s older: refused',
      instances: [primary, newer, older],
      lease: lease('i-primary'),
      to: 'i-older',
      heartbeats: new Map([
        ['i-older', LEASE_EXPIRES - 15_001],
        ['i-newer', LEASE_EXPIRES],
      ]),
      expected: {
        kind: 'refuse',
        reason:
          "i-older is not a healthy standby: its sidecar has not reported reading the lease (standby heartbeat) in the last 15 s of the primary's renewals, so it could not take the lease",
      },
    },
    {
      name: 'no standby whose sidecar reads the lease: refused, naming what each one is',
      instances: [primary, older, impaired],
      lease: lease('i-primary'),
      heartbeats: new Map(),
      expected: {
        kind: 'refuse',
        reason:
          'no healthy standby (running, both status checks ok, its sidecar reading the lease): i-older healthy, its sidecar silent, i-impaired impaired',
      },
    },
    {
      name: 'settled primary, no target named: the longest-running healthy standby',
      instances: [primary, newer, older, impaired],
      lease: lease('i-primary'),
      expected: {
        kind: 'go',
        from: 'i-primary',
        to: 'i-older',
        fencingToken: 7,
        leaseExpiresAtMs: LEASE_EXPIRES,
      },
    },
    {
      name: 'settled primary, a healthy standby named: that one',
      instances: [primary, newer, older],
      lease: lease('i-primary'),
      to: 'i-newer',
      expected: {
        kind: 'go',
        from: 'i-primary',
        to: 'i-newer',
        fencingToken: 7,
        leaseExpiresAtMs: LEASE_EXPIRES,
      },
    },
    {
      name: 'no healthy standby: refused, naming what each one is',
      instances: [primary, impaired, stopped, starting],
      lease: lease('i-primary'),
      expected: {
        kind: 'refuse',
        reason:
          'no healthy standby (running, both status checks ok, its sidecar reading the lease): i-impaired impaired, i-stopped down, i-starting starting',
      },
    },
    {
      name: 'no other instance at all: refused',
      instances: [primary],
      lease: lease('i-primary'),
      expected: {
        kind: 'refuse',
        reason: 'no healthy standby (running, both status checks ok, its sidecar reading the lease)',
      },
    },
    {
      name: 'the target is another stage’s instance: refused',
      instances: [primary, older, foreign(instance('i-foreign', 10))],
      lease: lease('i-primary'),
      to: 'i-foreign',
      expected: { kind: 'refuse', reason: 'i-foreign is not a database instance of stage prod' },
    },
    {
      name: 'the target is the primary: refused',
      instances: [primary, older],
      lease: lease('i-primary'),
      to: 'i-primary',
      expected: { kind: 'refuse', reason: 'i-primary already is the primary' },
    },
    {
      name: 'the target is still starting: refused',
      instances: [primary, starting],
      lease: lease('i-primary'),
      to: 'i-starting',
      expected: {
        kind: 'refuse',
        reason:
          'i-starting is not a healthy standby: it is starting (running, checks initializing/initializing)',
      },
    },
    {
      name: 'the lease expired (a failover under way): refused',
      instances: [primary, older],
      lease: lease('i-primary', { expiresAtMs: NOW_MS - 1_500 }),
      expected: {
        kind: 'refuse',
        reason: 'a takeover is in progress: the lease of i-primary expired 1500 ms ago',
      },
    },
    {
      name: 'the lease released, not yet taken: refused',
      instances: [primary, older],
      lease: lease('i-primary', { expiresAtMs: 0, releasedAtMs: NOW_MS - 100, primarySinceMs: undefined }),
      expected: {
        kind: 'refuse',
        reason: 'a takeover is in progress: i-primary released the lease and no one has taken it yet',
      },
    },
    {
      name: 'the holder is not primary yet: refused',
      instances: [primary, older],
      lease: lease('i-primary', { primarySinceMs: undefined }),
      expected: {
        kind: 'refuse',
        reason: 'a takeover is in progress: i-primary holds the lease but is not primary yet',
      },
    },
    {
      name: 'the holder is still fencing the others: refused',
      instances: [primary, older],
      lease: lease('i-primary', { fenceAllPending: true }),
      expected: {
        kind: 'refuse',
        reason: 'a takeover is in progress: i-primary is still fencing the other instances',
      },
    },
    {
      name: 'a switchover already requested and still standing: refused',
      instances: [primary, older],
      lease: lease('i-primary', {
        handover: { to: 'i-older', requestedAtMs: NOW_MS - 1_000, expiresAtMs: NOW_MS + 29_000 },
      }),
      expected: { kind: 'refuse', reason: 'a switchover to i-older is already requested' },
    },
    {
      // Still in the future on this clock: the holder's renewals, not the requester's clock, void a request.
      name: "a void earlier request (the lease's expiry has reached it) does not stand in the way",
      instances: [primary, older],
      lease: lease('i-primary', {
        handover: { to: 'i-older', requestedAtMs: NOW_MS - 60_000, expiresAtMs: LEASE_EXPIRES },
      }),
      expected: {
        kind: 'go',
        from: 'i-primary',
        to: 'i-older',
        fencingToken: 7,
        leaseExpiresAtMs: LEASE_EXPIRES,
      },
    },
    {
      name: 'no lease item: refused',
      instances: [primary, older],
      lease: { kind: 'absent' },
      expected: { kind: 'refuse', reason: 'no sidecar holds the lease: there is no primary to hand over' },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      // Act
      const plan = planSwitchover({
        observation: world(row.instances, [], row.lease),
        config: leaseConfig,
        requestedTarget: row.to,
        heartbeats: row.heartbeats ?? new Map(row.instances.map((i) => [i.instanceId, LEASE_EXPIRES])),
      });
      // Assess
      assert.deepEqual(plan, row.expected);
    });
  }
});
