import { z } from 'zod';
import { booleanFlag, parseEnv, unsetIfEmpty, virtualIp } from '../../shared/configuration';
import { leaseNameSetting, leaseTableSetting } from '../../shared/lease-table/location';

const failoverEnv = z.object({
  /** Only instances and route tables tagged `cloudy:stage=<STAGE>` are observed or changed. */
  STAGE: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a stage name (letters, digits, hyphens; at most 64)'),
  /** The address clients use for PostgreSQL; routed as `<VIRTUAL_IP>/32`. */
  VIRTUAL_IP: virtualIp,
  /** DynamoDB table with the primary's lease; empty disables the lease rule. */
  LEASE_TABLE: unsetIfEmpty(leaseTableSetting.optional()),
  /** The lease item in that table, as the sidecars name it. */
  LEASE_NAME: leaseNameSetting,
  /** Observe and decide, change nothing. The event's `dryRun` field overrides it. */
  DRY_RUN: booleanFlag.default(false),
});

/** The controller's configuration, read and validated once at start. */
export interface FailoverConfig {
  stage: string;
  virtualIp: string;
  /** Derived from VIRTUAL_IP: the route's destination. */
  destinationCidrBlock: string;
  leaseTable: string | undefined;
  leaseName: string;
  dryRun: boolean;
}

export function readFailoverConfig(env: Record<string, string | undefined>): FailoverConfig {
  const { STAGE, VIRTUAL_IP, LEASE_TABLE, LEASE_NAME, DRY_RUN } = parseEnv(
    failoverEnv,
    'failover function',
    env,
  );
  return {
    stage: STAGE,
    virtualIp: VIRTUAL_IP,
    destinationCidrBlock: `${VIRTUAL_IP}/32`,
    leaseTable: LEASE_TABLE,
    leaseName: LEASE_NAME,
    dryRun: DRY_RUN,
  };
}
