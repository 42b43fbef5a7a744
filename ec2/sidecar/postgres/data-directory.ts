import { execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  type AccessModel,
  applicationBootstrap,
  type BootstrapScript,
  hbaConf,
  serverConf,
} from './access-model';
import type { RunAs } from './run-as';

const run = promisify(execFile);

/**
 * The fencing-token file of a data directory: beside it on the shared storage, written by every holder that
 * claims the directory before it starts PostgreSQL (claim, below); the archive command reads it (wal-archive.ts).
 */
export function fencingTokenFile(pgdata: string): string {
  return join(dirname(pgdata), 'cloudy-fencing-token');
}

/**
 * The maintenance marker of a data directory, beside it on the shared storage: while it exists no sidecar starts
 * PostgreSQL on the directory (a restore is replacing it: `cloudy-restore`, docs/OPERATIONS.md §7). Its text says
 * who put it there and why.
 */
export function maintenanceFile(pgdata: string): string {
  return join(dirname(pgdata), 'cloudy-maintenance');
}

/** The data directory is in maintenance: this holder must not start PostgreSQL on it. */
export class MaintenanceError extends Error {
  override name = 'MaintenanceError';
}

/** A newer holder has started PostgreSQL on this directory since: this sidecar must not start it again. */
export class StaleHolderError extends Error {
  override name = 'StaleHolderError';
}

/**
 * The shared data directory. Only the lease holder calls these, so the first initialisation cannot race: initdb
 * writes into a sibling folder that is renamed into place only when complete, with its roles, pg_hba.conf and
 * server settings (connection limit, TLS) already in it (./access-model.ts).
 */
export function dataDirectory(options: {
  pgdata: string;
  binDir: string;
  access: AccessModel;
  runAs: RunAs;
}) {
  const { pgdata, binDir, access, runAs } = options;
  const parent = dirname(pgdata);
  const tokenFile = fencingTokenFile(pgdata);
  const spawnOptions = { ...runAs.spawnOptions, env: { ...process.env, LC_ALL: 'C.UTF-8' } };

  /** Runs SQL in single-user mode on a server that is not running; the first error stops it, loudly. */
  async function runSingleUser(staging: string, script: BootstrapScript): Promise<void> {
    const child = spawn(
      join(binDir, 'postgres'),
      ['--single', '-D', staging, '-c', 'exit_on_error=on', script.database],
      { ...spawnOptions, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    child.stdin?.end(`${script.statements.join('\n')}\n`);
    const code = await exited;
    // Only the first line: a failed statement is echoed after it, and CREATE ROLE carries the verifier.
    const error = /(ERROR|FATAL):[^\n]*/.exec(stderr)?.[0];
    if (code !== 0 || error)
      throw new Error(`bootstrap of ${script.database} failed: ${error ?? `exit ${code}`}`);
  }

  function recordedToken(): number {
    if (!existsSync(tokenFile)) return 0;
    const token = Number(readFileSync(tokenFile, 'utf8').trim());
    // Unreadable: no safe token can be derived from it, so nothing may start here until a person looks.
    if (!Number.isSafeInteger(token) || token < 0) throw new Error(`${tokenFile} holds no fencing token`);
    return token;
  }

  return {
    /** The last holder's token recorded on the storage (0 if none ever started here): seeds a lost lease item. */
    recordedToken,

    /**
     * syncfs(2) of the file system holding PGDATA, through coreutils `sync -f` (Node has no binding): writeback
     * the kernel still holds for the stopped server reaches the storage before the lease is handed on. Not ok
     * on an error or when it does not finish in `timeoutMs` (a hung mount), and then the lease must not be
     * released.
     */
    async syncFileSystem(timeoutMs: number): Promise<{ ok: true } | { ok: false; error: unknown }> {
      // execFile takes whole milliseconds only; deadlines come from the (fractional) monotonic clock.
      const timeout = Math.floor(timeoutMs);
      if (timeout <= 0) return { ok: false, error: new Error('no time left in the lease') };
      try {
        // The parent (the mount point) always exists, PGDATA not before the first initdb; same file system.
        await run('sync', ['--file-system', parent], { timeout, killSignal: 'SIGKILL' });
        return { ok: true };
      } catch (error) {
        return { ok: false, error };
      }
    },

    isInitialized: () => existsSync(join(pgdata, 'PG_VERSION')),

    /** The maintenance marker's text, or undefined when there is none (the normal case). */
    maintenance(): string | undefined {
      try {
        return readFileSync(maintenanceFile(pgdata), 'utf8').trim() || 'no reason given';
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        // Unreadable is not "absent": nothing may start until a person looks.
        return `the marker cannot be read: ${(error as Error).message}`;
      }
    },

    async initialize(fencingToken: number, stillHolder: () => boolean): Promise<void> {
      const staging = join(parent, `${basename(pgdata)}.init-${fencingToken}`);
      rmSync(staging, { recursive: true, force: true });
      await run(
        join(binDir, 'initdb'),
        [
          '--pgdata',
          staging,
          '--username',
          access.superuser,
          '--auth-local=peer',
          '--auth-host=reject',
          '--encoding=UTF8',
          // Torn or corrupted pages on the shared storage are then detected on read, not served.
          '--data-checksums',
          '--no-instructions',
        ],
        spawnOptions,
      );
      const password = readFileSync(access.application.passwordFile, 'utf8').trim();
      for (const script of applicationBootstrap(access.application, password))
        await runSingleUser(staging, script);
      // Replaced, not appended to: only the lines written here admit anyone.
      writeFileSync(join(staging, 'pg_hba.conf'), hbaConf(access), { mode: 0o600 });
      appendFileSync(join(staging, 'postgresql.conf'), serverConf(access));
      if (!stillHolder()) throw new StaleHolderError('lease lost during initdb: not installing the result');
      // Without PG_VERSION this is at most an empty folder; anything else in it fails loudly here (ENOTEMPTY).
      if (existsSync(pgdata)) rmdirSync(pgdata);
      renameSync(staging, pgdata);
    },

    /**
     * The fencing token on the storage itself: refuse to start PostgreSQL if a later holder has already started
     * it here (a holder resuming from a pause finds out before touching the data), else record ours, durably.
     */
    claim(fencingToken: number): void {
      const recorded = recordedToken();
      if (recorded > fencingToken) {
        throw new StaleHolderError(
          `data directory claimed by fencing token ${recorded} > ours ${fencingToken}`,
        );
      }
      const temporary = `${tokenFile}.${fencingToken}.tmp`;
      const fd = openSync(temporary, 'w', 0o644);
      try {
        writeSync(fd, `${fencingToken}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, tokenFile);
    },
  };
}

export type DataDirectory = ReturnType<typeof dataDirectory>;
