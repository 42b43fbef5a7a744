// `npx tsx scripts/bench-backups.ts`: what the WAL archive and pgBackRest cost and give on this machine, with the
// sidecar's own archive settings and configuration (repository on local disk): the data at risk under steady
// writes at the load test's write rate (the RPO), the archive's size and segment count per day at that rate, then
// backup and restore time per GB of data and replay time per GB of WAL. A benchmark, not a test: about 10 minutes.
// Prints a Markdown summary for docs/BENCHMARKS.md.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fencingTokenFile } from '../ec2/sidecar/postgres/data-directory';
import { ARCHIVE_TIMEOUT_S } from '../ec2/sidecar/postgres/wal-archive';
import { readCommandLine } from '../shared/command-line';
import {
  archiveCurrentSegment,
  drillPaths,
  initdb,
  ownedFolder,
  pgbackrest,
  pgbackrestBinary,
  recordToken,
  runAsServerUser,
  STANZA,
  startServer,
  writeConfig,
} from '../test/support/backup-drill';
import { distributionPostgres } from '../test/support/distribution-postgres';

const { values: options } = readCommandLine({
  name: 'bench-backups',
  usage: `usage: npx tsx scripts/bench-backups.ts [--steady-seconds N] [--scale N]

The WAL archive and pgBackRest on this machine (the distribution's PostgreSQL and pgBackRest, the sidecar's
settings, a repository on local disk): data at risk under steady writes at the load test's write rate, archive
size per day, backup and restore time per GB of data, replay time per GB of WAL. Prints Markdown.

  --steady-seconds N   how long the steady writes run (default 240)
  --scale N            pgbench scale of the restore measurement (default 60: about 0.9 GB)`,
  options: {
    'steady-seconds': { type: 'string', default: '240' },
    scale: { type: 'string', default: '60' },
  },
});
const STEADY_S = Number(options['steady-seconds']);
const SCALE = Number(options.scale);
// The load test's mixed scenario: 10 new visitors/s at its steady phase, 3 in 10 of whom sign up (POST /users).
const WRITES_PER_S = 3;

const print = (line: string) => process.stdout.write(`${line}\n`);
const root = mkdtempSync(join(tmpdir(), 'cloudy-24-bench-'));
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const gb = (bytes: number) => bytes / 1024 ** 3;

function folderBytes(path: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
    files += 1;
  }
  return { bytes, files };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

async function main(): Promise<void> {
  const { bin, major } = distributionPostgres();
  const version = (await runAsServerUser(pgbackrestBinary(), ['version'])).trim();
  const paths = drillPaths(join(root, 'bench'));
  await initdb(paths.pgdata);
  recordToken(fencingTokenFile(paths.pgdata), 1);
  const archive = {
    settings: {
      stanza: STANZA,
      pgbackrest: pgbackrestBinary(),
      configFile: paths.config,
      tokenFile: fencingTokenFile(paths.pgdata),
    },
    fencingToken: 1,
  };
  let server = await startServer({ paths, archive });
  writeConfig(paths, server.port);
  await pgbackrest(paths, 'stanza-create');
  await server.query(
    'CREATE TABLE users (id serial PRIMARY KEY, username varchar(80) UNIQUE NOT NULL, email varchar(120) UNIQUE NOT NULL)',
  );
  await pgbackrest(paths, '--type=full', 'backup');
  await archiveCurrentSegment(server);

  // 1. Steady writes: every second, how old is the newest commit that a restore from the archive would not have?
  const readyDir = join(paths.pgdata, 'pg_wal/archive_status');
  const archivedAtStart = folderBytes(join(paths.repo, 'archive'));
  const [startRow] = await server.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const commits: number[] = []; // commit times, ms
  const atRisk: number[] = [];
  const pushMs: number[] = [];
  const readySince = new Map<string, number>();
  let lastArchivedSwitchMs = Date.now();
  const stopAt = Date.now() + STEADY_S * 1000;
  let written = 0;
  const writer = (async () => {
    while (Date.now() < stopAt) {
      const next = Date.now() + 1000 / WRITES_PER_S;
      await server.query('INSERT INTO users (username, email) VALUES ($1, $1)', [`bench-${written}`]);
      written += 1;
      commits.push(Date.now());
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  while (Date.now() < stopAt) {
    const now = Date.now();
    const ready = new Set(readdirSync(readyDir).filter((f) => f.endsWith('.ready')));
    for (const file of ready) if (!readySince.has(file)) readySince.set(file, now);
    for (const [file, since] of readySince) {
      if (ready.has(file)) continue;
      // Archived since the last look: everything committed before its switch is now in the archive.
      pushMs.push(now - since);
      lastArchivedSwitchMs = Math.max(lastArchivedSwitchMs, since);
      readySince.delete(file);
    }
    // The newest commit not yet covered by an archived segment, and how old the oldest such commit is.
    const uncovered = commits.filter((t) => t > lastArchivedSwitchMs);
    atRisk.push(uncovered.length > 0 ? now - (uncovered[0] ?? now) : 0);
    await sleep(250);
  }
  await writer;
  const [endRow] = await server.query<{ bytes: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${startRow?.lsn}')::bigint::text AS bytes`,
  );
  const archivedAtEnd = folderBytes(join(paths.repo, 'archive'));
  const segments = archivedAtEnd.files - archivedAtStart.files;
  const archivedBytes = archivedAtEnd.bytes - archivedAtStart.bytes;
  const perDay = 86_400 / STEADY_S;
  atRisk.sort((a, b) => a - b);
  pushMs.sort((a, b) => a - b);
  const quantile = (values: number[], q: number) =>
    values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? 0;

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  print(
    `Measured ${new Date().toISOString()}: Node ${process.version}, PostgreSQL ${major} and ${version} (Debian),`,
  );
  print(
    `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 1024 ** 3)} GB, repository on local disk, lz4.`,
  );
  print('');
  print(`| what | measured |`);
  print(`| --- | --- |`);
  print(
    `| steady writes | ${written} commits in ${STEADY_S} s (${WRITES_PER_S}/s, the mixed load test's sign-ups), archive_timeout ${ARCHIVE_TIMEOUT_S} s |`,
  );
  print(
    `| WAL segments archived | ${segments} (one per ${seconds((STEADY_S * 1000) / Math.max(1, segments))} s) → ${Math.round(segments * perDay)} a day |`,
  );
  print(
    `| WAL written / archived (lz4) | ${(Number(endRow?.bytes) / 1024 ** 2).toFixed(1)} MiB / ${(archivedBytes / 1024 ** 2).toFixed(2)} MiB → ${((archivedBytes * perDay) / 1024 ** 3).toFixed(2)} GiB a day |`,
  );
  print(
    `| archive push (segment closed → archived) | p50 ${seconds(quantile(pushMs, 0.5))} s, max ${seconds(pushMs.at(-1) ?? 0)} s |`,
  );
  print(
    `| data at risk (oldest commit not yet archived), sampled every 0.25 s | p50 ${seconds(quantile(atRisk, 0.5))} s, p99 ${seconds(quantile(atRisk, 0.99))} s, max ${seconds(atRisk.at(-1) ?? 0)} s |`,
  );
  // 2. Base backup and restore per GB of data.
  // Over the socket (local trust): pgbench would want the password from the environment over TCP.
  await runAsServerUser(join(bin, 'pgbench'), [
    '-i',
    '-q',
    '-s',
    String(SCALE),
    '-h',
    paths.socketDir,
    '-p',
    String(server.port),
    '-U',
    'postgres',
    'postgres',
  ]);
  const [[sizeRow]] = await timed(() =>
    server.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes'),
  );
  const dataBytes = Number(sizeRow?.bytes);
  const [, fullMs] = await timed(() => pgbackrest(paths, '--type=full', 'backup'));
  const [lsnRow] = await server.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');

  // 3. WAL to replay: every row of pgbench_accounts updated (full-page images included, as in real traffic).
  await server.query('CHECKPOINT');
  await server.query('UPDATE pgbench_accounts SET abalance = abalance + 1');
  const [walRow] = await server.query<{ bytes: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsnRow?.lsn}')::bigint::text AS bytes`,
  );
  const walBytes = Number(walRow?.bytes);
  await archiveCurrentSegment(server);
  await server.stop();

  const restoreData = join(paths.storage, 'restore-data');
  ownedFolder(restoreData);
  const [, restoreMs] = await timed(() =>
    pgbackrest(paths, `--pg1-path=${restoreData}`, '--type=immediate', '--target-action=promote', 'restore'),
  );
  const [restoredData, startDataMs] = await timed(() =>
    startServer({ paths, pgdata: restoreData, startTimeoutMs: 3_600_000 }),
  );
  await restoredData.stop();

  const restoreWal = join(paths.storage, 'restore-wal');
  ownedFolder(restoreWal);
  const [, restoreWalFilesMs] = await timed(() => pgbackrest(paths, `--pg1-path=${restoreWal}`, 'restore'));
  const [restoredWal, replayMs] = await timed(() =>
    startServer({ paths, pgdata: restoreWal, startTimeoutMs: 3_600_000 }),
  );
  await restoredWal.stop();
  server = restoredWal;

  print(`| database size | ${gb(dataBytes).toFixed(2)} GiB (pgbench scale ${SCALE}) |`);
  print(`| full backup | ${seconds(fullMs)} s → ${(fullMs / 1000 / gb(dataBytes)).toFixed(1)} s per GiB |`);
  print(
    `| restore of the files + start (immediate target) | ${seconds(restoreMs)} s + ${seconds(startDataMs)} s → ${((restoreMs + startDataMs) / 1000 / gb(dataBytes)).toFixed(1)} s per GiB |`,
  );
  print(
    `| WAL replayed after the backup | ${gb(walBytes).toFixed(2)} GiB: restore ${seconds(restoreWalFilesMs)} s, recovery (archive-get + replay) ${seconds(replayMs)} s → ${(replayMs / 1000 / gb(walBytes)).toFixed(1)} s per GiB |`,
  );
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(root, { recursive: true, force: true }));
