import { z } from 'zod';
import { unsetIfEmpty } from '../configuration';
import { LEASE_NAME } from './lease-item';

/**
 * How every reader and writer of the lease finds it, read the same way by each program's `parseEnv` schema (the
 * sidecar, the failover controller, the `db` commands, the sidecar's `serving-primary` for the boot script):
 * LEASE_TABLE names the table, LEASE_NAME the lease item (empty or unset: LEASE_NAME's default).
 */
export const leaseNameSetting = unsetIfEmpty(z.string().trim().min(1).default(LEASE_NAME));

/** A DynamoDB table name (3 to 255 of letters, digits, `_`, `.`, `-`). */
export const leaseTableSetting = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name');

/** The stage's table as resources/database-instances.yml names it (`${self:custom.prefix}-lease`). */
export function leaseTableOfStage(stage: string): string {
  return `cloudy-${stage}-lease`;
}
