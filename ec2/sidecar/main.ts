// The database sidecar (systemd unit written by userdata/database.sh): guarantees that at most one PostgreSQL
// runs on the shared data directory. See docs/DATABASE-TIER.md. With the argument `serving-primary`, the boot
// script's readiness check instead (serving-primary.ts).
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exitWithUsage, readCommandLine, UsageError } from '../../shared/command-line';
import { ConfigurationError } from '../../shared/configuration';
import { dynamoDbLeaseStore, type LeaseStore } from '../../shared/lease-table/holder-writes';
import { dynamoDbStandbyHeartbeat } from '../../shared/lease-table/standby-heartbeat';
import { createLogger } from '../../shared/logger';
import { createLeaseDynamoDbClient, createSidecarEc2Client } from './aws-clients';
import { type Clock, systemClock } from './clock';
import { readSidecarConfig, type SidecarConfig } from './config';
import { ec2Fencer } from './fence/ec2-fencer';
import type { Fencer } from './fence/fencer';
import type { SidecarLogger } from './log-events';
import { type LeaseMetrics, leaseMetrics, measuredFencer, measuredLeaseStore } from './metrics/lease-metrics';
import { dataDirectory, fencingTokenFile } from './postgres/data-directory';
import { killOurPostgresNow, postgresServer } from './postgres/postgres-server';
import { runAsPostgresUser } from './postgres/run-as';
import { type ArchiveCommandSettings, pgbackrestConf } from './postgres/wal-archive';
import { ec2Promoter } from './promote/ec2-promoter';
import type { Promoter } from './promote/promoter';
import { SERVING_PRIMARY_USAGE, servingPrimary } from './serving-primary';
import { runSidecar, type SidecarOutcome } from './sidecar';

const logger: SidecarLogger = createLogger('database-sidecar');

// systemd restarts the unit on a non-zero exit: the next run starts as a standby with a clean slate.
const EXIT_CODES: Record<SidecarOutcome, number> = {
  shutdown: 0,
  // Restart=always: systemd starts the sidecar again, as a standby of the new primary.
  'handed-over': 0,
  // Nothing was released: the next holder fences this instance; a failure for systemd and the operator.
  'stopped-unreleased': 1,
  'self-fenced': 1,
  'postgres-exited': 1,
  'postgres-unhealthy': 1,
  'promotion-failed': 1,
  'start-failed': 1,
  // A restart cannot fix it, and every standby would find the same: the operator must mount or restore.
  'database-missing': 78,
  'stale-holder': 1,
};
// EC2's API is eventually consistent: an instance may be "not found" for a while after it exists (the EC2 API
// reference, "Eventual consistency"); an answer that persists this long is taken for "no such instance".
const NOT_FOUND_GRACE_MS = 5 * 60_000;
// Configuration errors are not fixed by restarting; systemd's RestartPreventExitStatus names this code.
const EXIT_CONFIGURATION = 78;
// Set once the configuration is read: what the crash handler must stop.
let ourPgdata: string | undefined;

/**
 * Writes pgBackRest's configuration for this stage (the same on every instance; rewritten at each start so that
 * a changed setting applies) and returns the archive settings, or undefined without a backup bucket.
 */
function walArchive(config: SidecarConfig): ArchiveCommandSettings | undefined {
  const bucket = config.BACKUP_BUCKET;
  if (!bucket || !config.AWS_REGION) return undefined;
  const text = pgbackrestConf({
    stanza: config.BACKUP_STANZA,
    repository: { type: 's3', bucket, region: config.AWS_REGION, path: '/pgbackrest' },
    retentionDays: config.BACKUP_RETENTION_DAYS,
    pgdata: config.PGDATA,
    socketDir: config.PG_SOCKET_DIR,
    port: config.PG_PORT,
    superuser: config.DB_SUPERUSER,
    lockPath: '/tmp/pgbackrest',
    logPath: '/var/log/cloudy',
  });
  mkdirSync(dirname(config.PGBACKREST_CONFIG), { recursive: true });
  writeFileSync(`${config.PGBACKREST_CONFIG}.tmp`, text, { mode: 0o644 });
  renameSync(`${config.PGBACKREST_CONFIG}.tmp`, config.PGBACKREST_CONFIG);
  return {
    stanza: config.BACKUP_STANZA,
    pgbackrest: config.PGBACKREST_BIN,
    configFile: config.PGBACKREST_CONFIG,
    tokenFile: fencingTokenFile(config.PGDATA),
  };
}

function fenceAndPromote(config: SidecarConfig, clock: Clock): { fencer: Fencer; promoter: Promoter } {
  const { ec2: settings } = config;
  const ec2 = createSidecarEc2Client(settings.region);
  return {
    fencer: ec2Fencer({
      ec2,
      clock,
      logger,
      selfId: config.HOLDER_ID,
      stage: settings.stage,
      pollIntervalMs: 2000,
      timeoutMs: config.FENCE_TIMEOUT_MS,
      notFoundGraceMs: NOT_FOUND_GRACE_MS,
      skipOsShutdown: settings.skipOsShutdown,
    }),
    promoter: ec2Promoter({
      ec2,
      logger,
      instanceId: config.HOLDER_ID,
      virtualIp: settings.virtualIp,
      routeTableIds: settings.routeTableIds,
    }),
  };
}

/** The EMF lines go to their own file (and log stream): see docs/OPERATIONS.md, "Reading the dashboard". */
function metricsOf(config: SidecarConfig): LeaseMetrics | undefined {
  if (!config.METRICS_FILE || !config.METRICS_NAMESPACE) return undefined;
  const file = createWriteStream(config.METRICS_FILE, { flags: 'a' });
  let failed = false;
  // Metrics are never worth a sidecar: a write error is logged once and the lines are dropped.
  file.on('error', (error) => {
    if (!failed) logger.warn({ event: 'metrics-write-failed', err: error }, 'metrics file not writable');
    failed = true;
  });
  return leaseMetrics({
    namespace: config.METRICS_NAMESPACE,
    instanceId: config.HOLDER_ID,
    clock: systemClock,
    write: (line) => {
      if (!failed) file.write(`${line}\n`);
    },
  });
}

async function main(): Promise<number> {
  let config: SidecarConfig;
  try {
    config = readSidecarConfig();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    logger.fatal({ event: 'configuration-error', err: error }, error.message);
    return EXIT_CONFIGURATION;
  }
  ourPgdata = config.PGDATA;
  const shutdown = new AbortController();
  process.once('SIGTERM', () => {
    logger.warn({ event: 'sigterm' }, 'SIGTERM: stepping down');
    shutdown.abort();
  });
  process.once('SIGINT', () => shutdown.abort());

  const runAs = runAsPostgresUser();
  const clock = systemClock;
  const { fencer: plainFencer, promoter } = fenceAndPromote(config, clock);
  const metrics = metricsOf(config);
  // A request must not outlive the renew interval, but gets a sane floor on a slow network.
  const leaseRequestTimeoutMs = Math.max(500, config.timing.renewIntervalMs);
  const dynamodb = createLeaseDynamoDbClient({
    ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    requestTimeoutMs: leaseRequestTimeoutMs,
  });
  const store: LeaseStore = dynamoDbLeaseStore({
    client: dynamodb,
    table: config.LEASE_TABLE,
    name: config.LEASE_NAME,
    requestTimeoutMs: leaseRequestTimeoutMs,
  });
  logger.info(
    { event: 'starting', holderId: config.HOLDER_ID, timing: config.timing },
    'database sidecar starting',
  );
  const outcome = await runSidecar({
    selfId: config.HOLDER_ID,
    timing: config.timing,
    standbyPollMs: config.STANDBY_POLL_MS,
    cleanShutdownTimeoutMs: config.CLEAN_SHUTDOWN_TIMEOUT_MS,
    routeRecheckMs: config.ROUTE_RECHECK_MS,
    promotionDeadlineMs: config.PROMOTION_DEADLINE_MS,
    startDeadlineMs: config.START_DEADLINE_MS,
    probeFailuresAllowed: config.PG_PROBE_FAILURES,
    store: metrics ? measuredLeaseStore(store, metrics, clock) : store,
    heartbeat: dynamoDbStandbyHeartbeat({
      client: dynamodb,
      table: config.LEASE_TABLE,
      leaseName: config.LEASE_NAME,
      instanceId: config.HOLDER_ID,
      requestTimeoutMs: leaseRequestTimeoutMs,
    }),
    fencer: metrics ? measuredFencer(plainFencer, metrics) : plainFencer,
    promoter,
    postgres: postgresServer({
      settings: {
        binDir: config.POSTGRES_BIN_DIR,
        pgdata: config.PGDATA,
        port: config.PG_PORT,
        listenAddresses: config.PG_LISTEN_ADDRESSES,
        socketDir: config.PG_SOCKET_DIR,
        killTimeoutMs: config.KILL_TIMEOUT_MS,
        probeTimeoutMs: config.probeTimeoutMs,
        archive: walArchive(config),
      },
      runAs,
      clock,
      logger,
    }),
    dataDirectory: dataDirectory({
      pgdata: config.PGDATA,
      binDir: config.POSTGRES_BIN_DIR,
      access: config.access,
      runAs,
    }),
    clock,
    logger,
    shutdown: shutdown.signal,
  });
  logger.warn({ event: 'exiting', outcome }, `sidecar run ended: ${outcome}`);
  return EXIT_CODES[outcome];
}

const COMMAND = {
  name: 'main.mjs',
  usage: `usage: main.mjs                   run the database sidecar (settings from the environment: config.ts)
       main.mjs serving-primary   the boot script's readiness check:
${SERVING_PRIMARY_USAGE}`,
  options: {},
  allowPositionals: true,
};

/** `serving-primary`: prints the serving holder's id (or nothing); see serving-primary.ts. */
async function servingPrimaryCommand(): Promise<number> {
  try {
    const holder = await servingPrimary(process.env, Date.now);
    if (holder) process.stdout.write(`${holder}\n`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`serving-primary: ${message}\n`);
    return error instanceof ConfigurationError ? EXIT_CONFIGURATION : 1;
  }
}

function runSidecarProcess(): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      logger.fatal({ event: 'crashed', err: error }, 'database sidecar crashed');
      // Whatever failed, no PostgreSQL of ours may outlive the sidecar that guards it.
      if (ourPgdata) killOurPostgresNow(ourPgdata);
      process.exit(1);
    },
  );
}

const { positionals } = readCommandLine(COMMAND);
if (positionals.length === 0) {
  runSidecarProcess();
} else if (positionals.length === 1 && positionals[0] === 'serving-primary') {
  servingPrimaryCommand().then((code) => process.exit(code));
} else {
  exitWithUsage(COMMAND, new UsageError(`unknown arguments: ${positionals.join(' ')}`));
}
