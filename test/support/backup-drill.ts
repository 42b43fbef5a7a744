// The pieces of the restore drills (test/integration/backup/): the distribution's PostgreSQL and pgBackRest (one
// package set, so the tool supports the server), a server started with the sidecar's own archive settings, a
// repository on local disk, and the checks a restored cluster must pass.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  type ArchiveCommandSettings,
  archiveFlags,
  type BackupSettings,
  pgbackrestConf,
} from '../../ec2/sidecar/postgres/wal-archive';
import { listProcesses, signal, workingDirectory } from '../../ec2/sidecar/proc/process-table';
import { distributionPostgres } from './distribution-postgres';
import { freePort } from './local-postgres';

const run = promisify(execFile);
export const SUPERUSER = 'postgres';
export const PASSWORD = 'drill-password';
export const STANZA = 'cloudy';

/** pgBackRest of the operating system; the tests need it (README, prerequisites; .ci/run installs it). */
export function pgbackrestBinary(): string {
  for (const candidate of ['/usr/bin/pgbackrest', '/usr/local/bin/pgbackrest'])
    if (existsSync(candidate)) return candidate;
  throw new Error('pgbackrest is not installed (apt-get install -y pgbackrest)');
}

/** As root, PostgreSQL and pgBackRest run as the postgres system user (as on an instance). */
export function runAsIds(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

/** A folder the server's user owns. */
export function ownedFolder(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const ids = runAsIds();
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(path, ids.uid, ids.gid);
  chmodSync(path, 0o700);
  return path;
}

/** Runs a pgBackRest command (or any program) as the server's user; its stderr is in the error. */
export async function runAsServerUser(file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { ...runAsIds(), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

/** One drill's folders: the shared storage (PGDATA and the token file), the repository, scratch. */
export interface DrillPaths {
  root: string;
  storage: string;
  pgdata: string;
  repo: string;
  config: string;
  socketDir: string;
}

export function drillPaths(root: string): DrillPaths {
  // The server's user must be able to reach every folder on the way.
  for (const folder of [join(root, '..'), root]) {
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
  }
  const storage = ownedFolder(join(root, 'efs'));
  return {
    root,
    storage,
    pgdata: join(storage, 'pgdata'),
    repo: ownedFolder(join(root, 'repo')),
    config: join(ownedFolder(join(root, 'etc')), 'pgbackrest.conf'),
    socketDir: ownedFolder(join(root, 'run')),
  };
}

/** The drill's pgBackRest configuration: the sidecar's own, with the repository on local disk. */
export function writeConfig(
  paths: DrillPaths,
  port: number,
  pgdata = paths.pgdata,
  file = paths.config,
): void {
  const settings: BackupSettings = {
    stanza: STANZA,
    repository: { type: 'posix', path: paths.repo },
    retentionDays: 35,
    pgdata,
    socketDir: paths.socketDir,
    port,
    superuser: SUPERUSER,
    lockPath: ownedFolder(join(paths.root, 'lock')),
    logPath: ownedFolder(join(paths.root, 'log')),
  };
  writeFileSync(file, pgbackrestConf(settings), { mode: 0o644 });
}

export async function pgbackrest(paths: DrillPaths, ...args: string[]): Promise<string> {
  return runAsServerUser(pgbackrestBinary(), [`--config=${paths.config}`, `--stanza=${STANZA}`, ...args]);
}

/** initdb as the sidecar does it (data checksums), with a password for the drill's TCP clients. */
export async function initdb(pgdata: string): Promise<void> {
  const { bin } = distributionPostgres();
  const pwfile = join(ownedFolder(`${pgdata}.pw`), 'pw');
  writeFileSync(pwfile, PASSWORD, { mode: 0o600 });
  const ids = runAsIds();
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(pwfile, ids.uid, ids.gid);
  await runAsServerUser(join(bin, 'initdb'), [
    '-D',
    pgdata,
    '-U',
    SUPERUSER,
    `--pwfile=${pwfile}`,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '--data-checksums',
    '--no-sync',
    '--no-instructions',
  ]);
}

/** The fencing token a holder records on the storage when it claims PGDATA (data-directory.ts, claim). */
export function recordToken(tokenFile: string, token: number): void {
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o644 });
}

export interface DrillServer {
  port: number;
  pgdata: string;
  url: string;
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  /** Fast shutdown. */
  stop(): Promise<void>;
  /** SIGKILL to every PostgreSQL process on its data directory, as the sidecar's self-fence does. */
  crash(): Promise<void>;
}

/**
 * PostgreSQL of the distribution on `pgdata`, on 127.0.0.1 and a free port; with `archive`, the sidecar's archive
 * settings for a server started under `fencingToken`.
 */
export async function startServer(options: {
  paths: DrillPaths;
  pgdata?: string;
  archive?: { settings: ArchiveCommandSettings; fencingToken: number };
  port?: number;
  /** Recovery before the server admits anyone may take long (a benchmark replaying GBs of WAL). */
  startTimeoutMs?: number;
}): Promise<DrillServer> {
  const { bin } = distributionPostgres();
  const pgdata = options.pgdata ?? options.paths.pgdata;
  const port = options.port ?? (await freePort());
  const args = [
    '-D',
    pgdata,
    '-c',
    `port=${port}`,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${options.paths.socketDir}`,
    '-c',
    'fsync=on',
    ...(options.archive ? archiveFlags(options.archive.settings, options.archive.fencingToken) : []),
  ];
  const child: ChildProcess = spawn(join(bin, 'postgres'), args, {
    ...runAsIds(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  // Recovery (crash recovery, or a point-in-time restore's replay) runs before the server admits anyone.
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`PostgreSQL on ${pgdata} exited while starting:\n${log}`);
    if (Date.now() > deadline) throw new Error(`PostgreSQL on ${pgdata} did not start:\n${log}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const [{ recovering }] = (await client.query('SELECT pg_is_in_recovery() AS recovering')).rows as [
        { recovering: boolean },
      ];
      await client.end();
      if (!recovering) break;
    } catch {
      await client.end().catch(() => {});
    }
    await sleep(100);
  }
  async function query<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }
  return {
    port,
    pgdata,
    url,
    query,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await exited;
      }
    },
    async crash() {
      await killEveryServerOn(pgdata);
      await exited;
    },
    get log() {
      return log;
    },
  } as DrillServer;
}

/** SIGKILL to each PostgreSQL process working in `pgdata` (its children call setsid), until none is left. */
export async function killEveryServerOn(pgdata: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const alive = listProcesses().filter((p) => p.comm === 'postgres' && workingDirectory(p.pid) === pgdata);
    if (alive.length === 0) return;
    for (const p of alive) signal(p.pid, 'SIGKILL');
    await sleep(50);
  }
  throw new Error(`PostgreSQL processes on ${pgdata} survive SIGKILL`);
}

/** Closes the current WAL segment and waits until PostgreSQL's archiver has pushed it, or fails. */
export async function archiveCurrentSegment(server: DrillServer): Promise<string> {
  const [row] = await server.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
  if (!row) throw new Error('pg_switch_wal returned nothing');
  return waitArchived(server, row.segment);
}

/** Waits until `segment` (or a later one) is archived; throws at the first failed attempt at it. */
export async function waitArchived(server: DrillServer, segment: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [status] = await server.query<{ last_archived_wal: string | null; last_failed_wal: string | null }>(
      'SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver',
    );
    if (status?.last_archived_wal && status.last_archived_wal.slice(0, 24) >= segment) return segment;
    if (status?.last_failed_wal && status.last_failed_wal.slice(0, 24) >= segment)
      throw new ArchiveRefused(segment);
    if (Date.now() > deadline) throw new Error(`segment ${segment} was not archived within 60 s`);
    await sleep(100);
  }
}

export class ArchiveRefused extends Error {
  override name = 'ArchiveRefused';
  constructor(readonly segment: string) {
    super(`the archive command failed for ${segment}`);
  }
}

/**
 * What a restored cluster must pass: amcheck on every B-tree index of the database (with the heap checked
 * against it) and on every table's heap, then, once stopped, pg_checksums over every page.
 */
export async function verifyRestoredCluster(server: DrillServer): Promise<void> {
  await server.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  await server.query(`
    SELECT bt_index_check(index => c.oid, heapallindexed => true)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND c.relpersistence <> 't'`);
  const damaged = await server.query(`
    SELECT c.oid::regclass AS relation, v.* FROM pg_class c, verify_heapam(c.oid) v
    WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't'`);
  if (damaged.length > 0) throw new Error(`verify_heapam found damage: ${JSON.stringify(damaged)}`);
  await server.stop();
  const { bin } = distributionPostgres();
  await runAsServerUser(join(bin, 'pg_checksums'), ['--check', '-D', server.pgdata]);
}

/** The commit-time log: what each client write did, when it was sent and when it was acknowledged. */
export interface TimedWrite {
  username: string;
  sentAtMs: number;
  ackedAtMs: number;
}

/** POST /users through the web app; the write counts only if the app acknowledged it (201). */
export async function writeThroughApp(baseUrl: string, username: string): Promise<TimedWrite> {
  const sentAtMs = Date.now();
  const response = await fetch(`${baseUrl}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@drill.test` }),
  });
  const ackedAtMs = Date.now();
  if (response.status !== 201)
    throw new Error(`POST /users ${username}: ${response.status} ${await response.text()}`);
  return { username, sentAtMs, ackedAtMs };
}

/** pgBackRest's backup labels, oldest first, from `info --output=json`. */
export async function backupLabels(paths: DrillPaths): Promise<string[]> {
  const info = JSON.parse(await pgbackrest(paths, '--output=json', 'info')) as [
    { backup: { label: string }[] },
  ];
  return info[0].backup.map((b) => b.label);
}

export const readText = (file: string) => readFileSync(file, 'utf8');
