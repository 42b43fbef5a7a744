// `main.mjs serving-primary`: the boot script's readiness gate (userdata/database.sh) asks the sidecar's own bundle
// whether a primary serves, so that the lease is read by the same code, under the same LEASE_TABLE / LEASE_NAME,
// as the sidecar uses. Prints the serving holder's instance id, or nothing while there is none; exit 0 either way.
// Exit 1 when the lease could not be read, 78 on a configuration error (as the sidecar itself).
import { z } from 'zod';
import { parseEnv } from '../../shared/configuration';
import { servingHolder } from '../../shared/lease-table/lease-item';
import { leaseNameSetting, leaseTableSetting } from '../../shared/lease-table/location';
import { readLease } from '../../shared/lease-table/read-lease';
import { createLeaseDynamoDbClient } from './aws-clients';

const servingPrimaryEnv = z.object({
  LEASE_TABLE: leaseTableSetting,
  LEASE_NAME: leaseNameSetting,
  AWS_REGION: z.string().min(1).optional(),
});

// One read per check; the boot script retries on its own schedule.
const REQUEST_TIMEOUT_MS = 5_000;

export const SERVING_PRIMARY_USAGE = `  prints the instance id of the lease holder that serves as primary (lease unexpired by this machine's
  clock, published as primary), or nothing while none does; exit 0 either way, 1 when the lease cannot be read.
  Reads LEASE_TABLE, LEASE_NAME and AWS_REGION.`;

/** Returns the serving holder's id, or undefined; throws ConfigurationError or the SDK's error. */
export async function servingPrimary(
  env: NodeJS.ProcessEnv,
  nowMs: () => number,
): Promise<string | undefined> {
  const { LEASE_TABLE, LEASE_NAME, AWS_REGION } = parseEnv(servingPrimaryEnv, 'serving-primary', env);
  const client = createLeaseDynamoDbClient({
    ...(AWS_REGION ? { region: AWS_REGION } : {}),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  try {
    const lease = await readLease({ client, table: LEASE_TABLE, name: LEASE_NAME });
    return servingHolder(lease, nowMs());
  } finally {
    client.destroy();
  }
}
