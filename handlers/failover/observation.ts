import type { LeaseRecord } from '../../shared/lease-table/lease-item';
import type { ObservedRouteTable } from '../../shared/vip-routes';
import type { InstanceState, StatusCheck } from './ec2-state';

/** The world as the controller saw it in one run: plain values, so that `decide()` is a pure function. */
export interface Observation {
  /** When the observation was taken (epoch ms); lease expiry is judged against it. */
  nowMs: number;
  instances: ObservedInstance[];
  routeTables: ObservedRouteTable[];
  lease: ObservedLease;
}

export interface ObservedInstance {
  instanceId: string;
  state: InstanceState;
  instanceStatus: StatusCheck;
  systemStatus: StatusCheck;
  /** Launch time (epoch ms); the lease-less rule prefers the longest-running candidate. */
  launchTimeMs: number | undefined;
  /** For people reading `db status`; the decision does not use it. */
  availabilityZone?: string | undefined;
  tags: Record<string, string>;
}

export type ObservedLease =
  | { kind: 'disabled' }
  | { kind: 'absent' }
  | { kind: 'present'; record: LeaseRecord };

/** The tags the infrastructure puts on the stage's database instances and client route tables. */
export const DATABASE_TAG = { key: 'database', value: 'true' } as const;
export const STAGE_TAG_KEY = 'cloudy:stage';

export function isInStage(tags: Record<string, string>, stage: string): boolean {
  return tags[DATABASE_TAG.key] === DATABASE_TAG.value && tags[STAGE_TAG_KEY] === stage;
}
