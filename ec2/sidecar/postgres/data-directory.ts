import { execFile } from 'node:child_process';
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
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { RunAs } from './run-as';

const run = promisify(execFile);

/** A newer holder has started PostgreSQL on this directory since: this sidecar must not start it again. */
export class StaleHolderError extends Error {
  override name = 'StaleHolderError';
}

/**
 * The shared data directory. Only the lease holder calls these, so the first initialisation cannot race: initdb
 * writes into a sibling folder that is renamed into place only when complete.
 */
export function dataDirectory(options: {
  pgdata: string;
  binDir: string;
  superuser: string;
  passwordFile: string;
  runAs: RunAs;
}) {
  const { pgdata, binDir, superuser, passwordFile, runAs } = options;
  const parent = dirname(pgdata);
  const tokenFile = join(parent, 'cloudy-fencing-token');
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

    async initialize(fencingToken: number, stillHolder: () => boolean): Promise<void> {
      const staging = join(parent, `${basename(pgdata)}.init-${fencingToken}`);
      rmSync(staging, { recursive: true, force: true });
      await run(
        join(binDir, 'initdb'),
        [
          '--pgdata',
          staging,
          '--username',
          superuser,
          `--pwfile=${passwordFile}`,
          '--auth-local=peer',
          '--auth-host=scram-sha-256',
          '--encoding=UTF8',
          // Torn or corrupted pages on the shared storage are then detected on read, not served.
          '--data-checksums',
          '--no-instructions',
        ],
        { ...runAs.spawnOptions, env: { ...process.env, LC_ALL: 'C.UTF-8' } },
      );
      // Clients reach the primary through the virtual IP from the VPC; the security group limits who may try.
      appendFileSync(join(staging, 'pg_hba.conf'), 'host all all 0.0.0.0/0 scram-sha-256\n');
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
