import { z } from 'zod';
import { parseEnv, virtualIp } from '../../shared/configuration';
import { LEASE_NAME } from '../../shared/lease-record';
import { IDENTIFIER } from '../../shared/postgres-role';
import type { AccessModel } from './postgres/access-model';

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalMs = z.coerce.number().int().positive().optional();

/**
 * Every setting of the database sidecar, read from the environment once at start (userdata/database.sh writes
 * them into the unit's environment file). Timing defaults are derived from LEASE_TTL_MS.
 */
const sidecarEnv = z.object({
  /** `aws`: fence with EC2 StopInstances, promote with VPC routes. `local`: the fault-injection suite's stand-ins. */
  SIDECAR_MODE: z.enum(['aws', 'local']).default('aws'),
  /** This holder's id in the lease: the EC2 instance id (locally, a sidecar name). */
  HOLDER_ID: z.string().min(1),
  /** DynamoDB table of the lease (key `lockName`). */
  LEASE_TABLE: z.string().min(1),
  /** Item of the lease in that table. */
  LEASE_NAME: z.string().min(1).default(LEASE_NAME),
  AWS_REGION: z.string().min(1).optional(),
  /** aws: the stage, whose database instances (tags `cloudy:stage`, `database`) are fenced when the holder is unknown. */
  STAGE: z.string().min(1).optional(),
  /** Lease validity after each write. */
  LEASE_TTL_MS: ms(10_000),
  /** Between renewals; default TTL / 5. */
  LEASE_RENEW_INTERVAL_MS: optionalMs,
  /** PostgreSQL is killed this long before the lease would expire; default 30 % of the TTL. */
  SELF_FENCE_MARGIN_MS: optionalMs,
  /**
   * Margin past the TTL before a lease unchanged (on this observer's monotonic clock) counts as expired: covers
   * the rate difference of two monotonic clocks and scheduling delay (wall clocks are never compared).
   */
  CLOCK_SKEW_MS: z.coerce.number().int().min(0).default(500),
  /** A standby re-reads the lease this often. */
  STANDBY_POLL_MS: ms(500),
  /**
   * aws: fence with StopInstances' SkipOsShutdown (power off at once) instead of EC2's graceful OS shutdown that
   * a forced stop attempts first; `false` only to measure the difference (docs/DATABASE-TIER.md).
   */
  FENCE_SKIP_OS_SHUTDOWN: z.enum(['true', 'false']).default('true'),
  /** Waiting for a fenced peer to be stopped gives up after this long (and is retried). */
  FENCE_TIMEOUT_MS: ms(180_000),
  /** SIGTERM: PostgreSQL's fast shutdown gets this long before it is killed. */
  CLEAN_SHUTDOWN_TIMEOUT_MS: ms(30_000),
  /** The primary re-checks (and repairs) the virtual-IP route this often. */
  ROUTE_RECHECK_MS: ms(30_000),
  /** A holder whose PostgreSQL is ready but that cannot move the route and publish within this long steps down. */
  PROMOTION_DEADLINE_MS: ms(60_000),
  /** Health probe of the running server, once per renewal: no answer in this long is a failure; default the renew interval. */
  PG_PROBE_TIMEOUT_MS: optionalMs,
  /** Failed probes in a row tolerated; one more and the holder stops renewing and steps down. */
  PG_PROBE_FAILURES: z.coerce.number().int().min(0).default(2),
  /** Waiting for SIGKILLed PostgreSQL processes to be gone stops after this long (a hung mount). */
  KILL_TIMEOUT_MS: ms(10_000),
  /** The data directory, on the shared file system. */
  PGDATA: z.string().startsWith('/'),
  POSTGRES_BIN_DIR: z.string().startsWith('/').default('/usr/bin'),
  PG_PORT: z.coerce.number().int().min(1).max(65535).default(5432),
  PG_LISTEN_ADDRESSES: z.string().min(1).default('*'),
  PG_SOCKET_DIR: z.string().startsWith('/').default('/run/postgresql'),
  /** Superuser created by the first initialisation: local peer authentication only (when DB_APP_USER is set). */
  DB_SUPERUSER: z.string().regex(IDENTIFIER).default('postgres'),
  /** The application role's password (with DB_APP_USER), else the superuser's (local fault suite only). */
  DB_PASSWORD_FILE: z.string().startsWith('/'),
  /** The application's own role and database (the secret's username and dbname); required on AWS. */
  DB_APP_USER: z.string().regex(IDENTIFIER).optional(),
  DB_APP_DATABASE: z.string().regex(IDENTIFIER).default('postgres'),
  /** The server's TLS certificate and key (userdata/database.sh keeps them on EFS); required with DB_APP_USER. */
  PG_SSL_CERT_FILE: z.string().startsWith('/').optional(),
  PG_SSL_KEY_FILE: z.string().startsWith('/').optional(),
  /** Written into postgresql.conf at the first initialisation; docs/DATABASE-TIER.md has the budget. */
  PG_MAX_CONNECTIONS: z.coerce.number().int().min(10).max(10_000).default(100),
  /** Space-separated command PostgreSQL runs under (local suite only). */
  POSTGRES_WRAPPER: z.string().default(''),
  /** aws: the virtual IP and the route tables whose VIP/32 route follows the primary. */
  VIRTUAL_IP: virtualIp,
  ROUTE_TABLE_IDS: z.string().default(''),
  /** local: where sidecars register their process groups, and the file standing in for the VIP route. */
  FENCE_REGISTRY_DIR: z.string().optional(),
  ROUTE_FILE: z.string().optional(),
  /** Where the lease metrics go as CloudWatch EMF lines (shipped by the CloudWatch agent); unset = none. */
  METRICS_FILE: z.string().startsWith('/').optional(),
  /** Their CloudWatch namespace (the stage's, `cloudy/<stage>`); required with METRICS_FILE. */
  METRICS_NAMESPACE: z.string().min(1).optional(),
  /** local: the fault suite's switches for this sidecar (`wall-clock-offset-ms`, `promote-fails`). */
  FAULT_DIR: z.string().startsWith('/').optional(),
});

/**
 * The application-role model when DB_APP_USER is set (it needs the TLS files too); without it, the superuser
 * model, which only the local fault suite may use. Undefined: not enough settings for either.
 */
function accessModel(env: SidecarEnv): AccessModel | undefined {
  if (env.DB_APP_USER) {
    if (!env.PG_SSL_CERT_FILE || !env.PG_SSL_KEY_FILE) return undefined;
    return {
      kind: 'application-role',
      superuser: env.DB_SUPERUSER,
      application: {
        user: env.DB_APP_USER,
        database: env.DB_APP_DATABASE,
        passwordFile: env.DB_PASSWORD_FILE,
      },
      tls: { certFile: env.PG_SSL_CERT_FILE, keyFile: env.PG_SSL_KEY_FILE },
      maxConnections: env.PG_MAX_CONNECTIONS,
    };
  }
  if (env.SIDECAR_MODE !== 'local') return undefined;
  return {
    kind: 'superuser-password',
    superuser: env.DB_SUPERUSER,
    passwordFile: env.DB_PASSWORD_FILE,
    maxConnections: env.PG_MAX_CONNECTIONS,
  };
}

type SidecarEnv = z.infer<typeof sidecarEnv>;

/** What SIDECAR_MODE decides: how peers are fenced and where the primary's route is. */
type ModeSettings =
  | {
      kind: 'aws';
      region: string;
      stage: string;
      routeTableIds: string[];
      virtualIp: string;
      skipOsShutdown: boolean;
    }
  | { kind: 'local'; registryDir: string; routeFile: string };

/** The settings of SIDECAR_MODE, or undefined (with an issue per missing key). */
function modeSettings(env: SidecarEnv, ctx: z.RefinementCtx): ModeSettings | undefined {
  const missing = (key: string) =>
    ctx.addIssue({ code: 'custom', path: [key], message: `required when SIDECAR_MODE=${env.SIDECAR_MODE}` });
  if (env.SIDECAR_MODE === 'local') {
    const { FENCE_REGISTRY_DIR: registryDir, ROUTE_FILE: routeFile } = env;
    if (!registryDir) missing('FENCE_REGISTRY_DIR');
    if (!routeFile) missing('ROUTE_FILE');
    return registryDir && routeFile ? { kind: 'local', registryDir, routeFile } : undefined;
  }
  const routeTableIds = env.ROUTE_TABLE_IDS.split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  const { AWS_REGION: region, STAGE: stage } = env;
  if (!region) missing('AWS_REGION');
  if (!stage) missing('STAGE');
  if (routeTableIds.length === 0) missing('ROUTE_TABLE_IDS');
  if (!region || !stage || routeTableIds.length === 0) return undefined;
  return {
    kind: 'aws',
    region,
    stage,
    routeTableIds,
    virtualIp: env.VIRTUAL_IP,
    skipOsShutdown: env.FENCE_SKIP_OS_SHUTDOWN === 'true',
  };
}

const sidecarConfig = sidecarEnv
  .transform((env, ctx) => {
    const renewIntervalMs = env.LEASE_RENEW_INTERVAL_MS ?? Math.floor(env.LEASE_TTL_MS / 5);
    const selfFenceMarginMs = env.SELF_FENCE_MARGIN_MS ?? Math.floor(env.LEASE_TTL_MS * 0.3);
    const access = accessModel(env);
    if (!access) {
      // On AWS the application never logs in as the superuser, and never without TLS.
      for (const key of ['DB_APP_USER', 'PG_SSL_CERT_FILE', 'PG_SSL_KEY_FILE'] as const) {
        if (!env[key])
          ctx.addIssue({ code: 'custom', path: [key], message: 'required when SIDECAR_MODE=aws' });
      }
    }
    const mode = modeSettings(env, ctx);
    if (!access || !mode) return z.NEVER;
    return {
      ...env,
      access,
      mode,
      postgresWrapper: env.POSTGRES_WRAPPER.split(' ').filter((word) => word.length > 0),
      probeTimeoutMs: env.PG_PROBE_TIMEOUT_MS ?? renewIntervalMs,
      timing: {
        ttlMs: env.LEASE_TTL_MS,
        renewIntervalMs,
        selfFenceMarginMs,
        clockSkewMs: env.CLOCK_SKEW_MS,
      },
    };
  })
  .superRefine((config, ctx) => {
    const { ttlMs, renewIntervalMs, selfFenceMarginMs } = config.timing;
    if (selfFenceMarginMs >= ttlMs) {
      ctx.addIssue({ code: 'custom', path: ['SELF_FENCE_MARGIN_MS'], message: 'must be below LEASE_TTL_MS' });
    }
    // At least two renewal attempts must fit before the self-fence deadline, so one lost request is harmless.
    if (renewIntervalMs * 2 > ttlMs - selfFenceMarginMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEASE_RENEW_INTERVAL_MS'],
        message: 'two renewals must fit in LEASE_TTL_MS - SELF_FENCE_MARGIN_MS',
      });
    }
    if (config.DB_APP_USER && config.DB_APP_USER === config.DB_SUPERUSER) {
      ctx.addIssue({ code: 'custom', path: ['DB_APP_USER'], message: 'must not be the superuser' });
    }
    if (config.METRICS_FILE && !config.METRICS_NAMESPACE) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_NAMESPACE'], message: 'required with METRICS_FILE' });
    }
    if (config.SIDECAR_MODE === 'aws' && config.postgresWrapper.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['POSTGRES_WRAPPER'], message: 'only for SIDECAR_MODE=local' });
    }
    if (config.SIDECAR_MODE === 'aws' && config.FAULT_DIR) {
      ctx.addIssue({ code: 'custom', path: ['FAULT_DIR'], message: 'only for SIDECAR_MODE=local' });
    }
  });

export type SidecarConfig = z.infer<typeof sidecarConfig>;

export function readSidecarConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  return parseEnv(sidecarConfig, 'sidecar', env);
}
