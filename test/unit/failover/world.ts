// Builders for observed worlds, shared by the failover unit tests.

import { type FailoverConfig, readFailoverConfig } from '../../../handlers/failover/config';
import type { Observation, ObservedInstance, ObservedLease } from '../../../handlers/failover/observation';
import type { LeaseRecord } from '../../../shared/lease-table/lease-item';
import type { ObservedRoute, ObservedRouteTable } from '../../../shared/vip-routes';

export const STAGE = 'prod';
export const NOW_MS = Date.parse('2026-01-01T12:00:00Z');
export const CIDR = '10.10.10.10/32';

export const leaselessConfig: FailoverConfig = readFailoverConfig({ STAGE });
export const leaseConfig: FailoverConfig = readFailoverConfig({ STAGE, LEASE_TABLE: 'cloudy-prod-lease' });

const stageTags = (stage = STAGE) => ({ database: 'true', 'cloudy:stage': stage });

/** A healthy database instance of the stage, launched `ageMinutes` before NOW_MS. */
export function instance(instanceId: string, ageMinutes: number, overrides: Partial<ObservedInstance> = {}) {
  return {
    instanceId,
    state: 'running',
    instanceStatus: 'ok',
    systemStatus: 'ok',
    launchTimeMs: NOW_MS - ageMinutes * 60_000,
    tags: stageTags(),
    ...overrides,
  } satisfies ObservedInstance as ObservedInstance;
}

export function foreign(item: ObservedInstance): ObservedInstance {
  return { ...item, tags: stageTags('staging') };
}

export function routeTo(instanceId: string, state: ObservedRoute['state'] = 'active'): ObservedRoute {
  return { state, instanceId, otherTarget: undefined };
}

export function table(
  routeTableId: string,
  route: ObservedRoute | undefined,
  stage = STAGE,
): ObservedRouteTable {
  return { routeTableId, tags: stageTags(stage), route };
}

export function lease(holderId: string, overrides: Partial<LeaseRecord> = {}): ObservedLease {
  return {
    kind: 'present',
    record: {
      holderId,
      fencingToken: 7,
      expiresAtMs: NOW_MS + 10_000,
      primarySinceMs: NOW_MS - 60_000,
      ...overrides,
    },
  };
}

export function world(
  instances: ObservedInstance[],
  routeTables: ObservedRouteTable[],
  observedLease: ObservedLease = { kind: 'disabled' },
): Observation {
  return { nowMs: NOW_MS, instances, routeTables, lease: observedLease };
}
