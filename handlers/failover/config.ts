import { isIPv4 } from 'node:net';
import { FailoverConfigError } from './errors';

/** The controller's configuration, read and validated once at start. */
export interface FailoverConfig {
  /** STAGE (required): only instances and route tables tagged `cloudy:stage=<STAGE>` are observed or changed. */
  stage: string;
  /** VIRTUAL_IP (default 10.10.10.10): the address clients use for PostgreSQL; routed as `<VIRTUAL_IP>/32`. */
  virtualIp: string;
  /** Derived from VIRTUAL_IP: the route's destination. */
  destinationCidrBlock: string;
  /** LEASE_TABLE (optional): DynamoDB table with the primary's lease; empty disables the lease rule. */
  leaseTable: string | undefined;
  /** DRY_RUN (default false): observe and decide, change nothing. The event's `dryRun` field overrides it. */
  dryRun: boolean;
}

const DEFAULT_VIRTUAL_IP = '10.10.10.10';

const STAGE_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
const TABLE_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;

export function parseBoolean(name: string, raw: string | undefined): boolean {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new FailoverConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

export function readFailoverConfig(env: Record<string, string | undefined>): FailoverConfig {
  const stage = env.STAGE?.trim() ?? '';
  if (!STAGE_PATTERN.test(stage)) {
    throw new FailoverConfigError(
      stage === '' ? 'STAGE is required' : `STAGE must match ${STAGE_PATTERN}, got ${stage}`,
    );
  }
  const virtualIp = env.VIRTUAL_IP?.trim() || DEFAULT_VIRTUAL_IP;
  if (!isIPv4(virtualIp))
    throw new FailoverConfigError(`VIRTUAL_IP must be an IPv4 address, got ${virtualIp}`);
  const leaseTable = env.LEASE_TABLE?.trim() || undefined;
  if (leaseTable !== undefined && !TABLE_PATTERN.test(leaseTable)) {
    throw new FailoverConfigError(`LEASE_TABLE must be a DynamoDB table name, got ${leaseTable}`);
  }
  return {
    stage,
    virtualIp,
    destinationCidrBlock: `${virtualIp}/32`,
    leaseTable,
    dryRun: parseBoolean('DRY_RUN', env.DRY_RUN),
  };
}
