import { z } from 'zod';
import {
  booleanFlag,
  parseEnv,
  positiveInt,
  positiveInteger,
  unsetIfEmpty,
  virtualIp,
} from '../../shared/configuration';
import { leaseNameSetting } from '../../shared/lease-table/location';
import { IDENTIFIER } from '../../shared/postgres-role';
import { leaseTimingProblems } from './lease/lease-decisions';
import type { AccessModel } from './postgres/access-model';

const ms = positiveInt;
const optionalMs = positiveInteger.optional();

/**
 * Every setting of the database sidecar, read from the environment once at start (userdata/database.sh writes
 * them into the unit's environment file). Timing defaults are derived from LEASE_TTL_MS.
 */
const sidecarEnv = z.object({
  /** This holder's id in the lease: the EC2 instance id. */
  HOLDER_ID: z.string().min(1),
  /** DynamoDB table of the lease (key `lockName`). */
  LEASE_TABLE: z.string().min(1),
  /** Item of the lease in that table. */
  LEASE_NAME: leaseNameSetting,
  AWS_REGION: z.string().min(1).optional(),
  /** The stage, whose database instances (tags `cloudy:stage`, `database`) are fenced when the holder is unknown. */
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
   * Fence with StopInstances' SkipOsShutdown (power off at once) instead of EC2's graceful OS shutdown that
   * a forced stop attempts first; `false` only to measure the difference (docs/DATABASE-TIER.md).
   */
  FENCE_SKIP_OS_SHUTDOWN: unsetIfEmpty(booleanFlag.default(true)),
  /** Waiting for a fenced peer to be stopped gives up after this long (and is retried). */
  FENCE_TIMEOUT_MS: ms(180_000),
  /** SIGTERM: PostgreSQL's fast shutdown gets this long before it is killed. */
  CLEAN_SHUTDOWN_TIMEOUT_MS: ms(30_000),
  /** The primary re-checks (and repairs) the virtual-IP route this often. */
  ROUTE_RECHECK_MS: ms(30_000),
  /** A holder whose PostgreSQL is ready but that cannot move the route and publish within this long steps down. */
  PROMOTION_DEADLINE_MS: ms(60_000),
  /** A holder whose PostgreSQL does not accept connections within this long of its start steps down (Patroni: 300 s). */
  START_DEADLINE_MS: ms(300_000),
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
  /** Superuser created by the first initialisation: local peer authentication only. */
  DB_SUPERUSER: z.string().regex(IDENTIFIER).default('postgres'),
  /** The application role's password. */
  DB_PASSWORD_FILE: z.string().startsWith('/'),
  /** The application's own role and database (the secret's username and dbname). */
  DB_APP_USER: z.string().regex(IDENTIFIER).optional(),
  DB_APP_DATABASE: z.string().regex(IDENTIFIER).default('postgres'),
  /** The server's TLS certificate and key (userdata/database.sh keeps them on EFS). */
  PG_SSL_CERT_FILE: z.string().startsWith('/').optional(),
  PG_SSL_KEY_FILE: z.string().startsWith('/').optional(),
  /** Written into postgresql.conf at the first initialisation; docs/DATABASE-TIER.md has the budget. */
  PG_MAX_CONNECTIONS: z.coerce.number().int().min(10).max(10_000).default(100),
  /** The virtual IP and the route tables whose VIP/32 route follows the primary. */
  VIRTUAL_IP: virtualIp,
  ROUTE_TABLE_IDS: z.string().default(''),
  /**
   * The stage's backup bucket (resources/backup-instances.yml): set, the primary archives every WAL segment to it
   * with pgBackRest and the backup timer takes base backups there (docs/DATABASE-TIER.md, "Backups"); unset, no
   * archiving (local runs, the fault suite).
   */
  BACKUP_BUCKET: z.string().min(3).optional(),
  /** pgBackRest's stanza: the name of this cluster's backups and archive in the bucket. */
  BACKUP_STANZA: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('cloudy'),
  /** Full backups are kept this long (the stage parameter backupRetentionDays). */
  BACKUP_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(35),
  /** pgBackRest's configuration, written by the sidecar at start (the backup timer and `db restore` read it). */
  PGBACKREST_CONFIG: z.string().startsWith('/').default('/var/lib/cloudy/pgbackrest/pgbackrest.conf'),
  PGBACKREST_BIN: z.string().startsWith('/').default('/usr/bin/pgbackrest'),
  /** Where the lease metrics go as CloudWatch EMF lines (shipped by the CloudWatch agent); unset = none. */
  METRICS_FILE: z.string().startsWith('/').optional(),
  /** Their CloudWatch namespace (the stage's, `cloudy/<stage>`); required with METRICS_FILE. */
  METRICS_NAMESPACE: z.string().min(1).optional(),
});

/** The application-role model, or undefined (with an issue per missing key). */
function accessModel(env: SidecarEnv, ctx: z.RefinementCtx): AccessModel | undefined {
  const { DB_APP_USER: user, PG_SSL_CERT_FILE: certFile, PG_SSL_KEY_FILE: keyFile } = env;
  // The application never logs in as the superuser, and never without TLS.
  if (!user) missing(ctx, 'DB_APP_USER');
  if (!certFile) missing(ctx, 'PG_SSL_CERT_FILE');
  if (!keyFile) missing(ctx, 'PG_SSL_KEY_FILE');
  if (!user || !certFile || !keyFile) return undefined;
  return {
    superuser: env.DB_SUPERUSER,
    application: { user, database: env.DB_APP_DATABASE, passwordFile: env.DB_PASSWORD_FILE },
    tls: { certFile, keyFile },
    maxConnections: env.PG_MAX_CONNECTIONS,
  };
}

type SidecarEnv = z.infer<typeof sidecarEnv>;

const missing = (ctx: z.RefinementCtx, key: string) =>
  ctx.addIssue({ code: 'custom', path: [key], message: 'required' });

/** How peers are fenced (EC2 StopInstances) and where the primary's route is (the VIP's VPC routes). */
interface Ec2Settings {
  region: string;
  stage: string;
  routeTableIds: string[];
  virtualIp: string;
  skipOsShutdown: boolean;
}

/** The EC2 settings, or undefined (with an issue per missing key). */
function ec2Settings(env: SidecarEnv, ctx: z.RefinementCtx): Ec2Settings | undefined {
  const routeTableIds = env.ROUTE_TABLE_IDS.split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  const { AWS_REGION: region, STAGE: stage } = env;
  if (!region) missing(ctx, 'AWS_REGION');
  if (!stage) missing(ctx, 'STAGE');
  if (routeTableIds.length === 0) missing(ctx, 'ROUTE_TABLE_IDS');
  if (!region || !stage || routeTableIds.length === 0) return undefined;
  return {
    region,
    stage,
    routeTableIds,
    virtualIp: env.VIRTUAL_IP,
    skipOsShutdown: env.FENCE_SKIP_OS_SHUTDOWN,
  };
}

/** The environment variable behind each field of the lease timing, for the configuration's error messages. */
const TIMING_SETTINGS: Record<string, string> = {
  ttlMs: 'LEASE_TTL_MS',
  renewIntervalMs: 'LEASE_RENEW_INTERVAL_MS',
  selfFenceMarginMs: 'SELF_FENCE_MARGIN_MS',
  clockSkewMs: 'CLOCK_SKEW_MS',
};

const sidecarConfig = sidecarEnv
  .transform((env, ctx) => {
    const renewIntervalMs = env.LEASE_RENEW_INTERVAL_MS ?? Math.floor(env.LEASE_TTL_MS / 5);
    const selfFenceMarginMs = env.SELF_FENCE_MARGIN_MS ?? Math.floor(env.LEASE_TTL_MS * 0.3);
    const access = accessModel(env, ctx);
    const ec2 = ec2Settings(env, ctx);
    if (!access || !ec2) return z.NEVER;
    return {
      ...env,
      access,
      ec2,
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
    for (const [key, problem] of leaseTimingProblems(config.timing)) {
      const setting = TIMING_SETTINGS[key] ?? key;
      ctx.addIssue({
        code: 'custom',
        path: [setting],
        message: problem.replace(/\w+Ms\b/g, (k) => TIMING_SETTINGS[k] ?? k),
      });
    }
    if (config.access.application.user === config.DB_SUPERUSER) {
      ctx.addIssue({ code: 'custom', path: ['DB_APP_USER'], message: 'must not be the superuser' });
    }
    if (config.METRICS_FILE && !config.METRICS_NAMESPACE) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_NAMESPACE'], message: 'required with METRICS_FILE' });
    }
  });

export type SidecarConfig = z.infer<typeof sidecarConfig>;

export function readSidecarConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  return parseEnv(sidecarConfig, 'sidecar', env);
}
