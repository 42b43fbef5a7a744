import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Clock } from '../clock';
import type { SidecarLogger } from '../log-events';
import {
  descendantsOf,
  isLive,
  listProcesses,
  type ProcessInfo,
  signal,
  workingDirectory,
} from '../proc/process-table';
import { acceptsConnections } from './readiness';
import type { RunAs } from './run-as';
import { type ArchiveCommandSettings, archiveFlags } from './wal-archive';

interface PostgresSettings {
  binDir: string;
  pgdata: string;
  port: number;
  listenAddresses: string;
  socketDir: string;
  /** kill() stops waiting after this long: a process stuck in the kernel (a hung mount) cannot be killed. */
  killTimeoutMs: number;
  /** A health probe that gets no answer in this long has failed. */
  probeTimeoutMs: number;
  /** WAL archiving (wal-archive.ts); none when the stage has no backup bucket. */
  archive?: ArchiveCommandSettings;
}

export interface PostgresExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Our PostgreSQL processes: the descendants of this sidecar (PostgreSQL's children each call setsid, so process
 * groups do not find them) and, as this host owns the data directory (the distribution's postgresql unit is
 * disabled), every PostgreSQL process working in it, which includes backends re-parented after their
 * postmaster crashed.
 */
function ourPostgresProcesses(pgdata: string): ProcessInfo[] {
  const all = listProcesses().filter((p) => p.comm === 'postgres' && isLive(p));
  const ours = new Set(descendantsOf(process.pid, listProcesses()).map((p) => p.pid));
  return all.filter((p) => ours.has(p.pid) || workingDirectory(p.pid) === pgdata);
}

/** Last resort when the sidecar itself fails: SIGKILL every PostgreSQL process of ours, without waiting. */
export function killOurPostgresNow(pgdata: string): void {
  for (const p of ourPostgresProcesses(pgdata)) signal(p.pid, 'SIGKILL');
}

/**
 * PostgreSQL run as a child of the sidecar, in the sidecar's process group (not through pg_ctl, which detaches
 * it): whoever stops the sidecar's group, or its systemd unit, stops PostgreSQL with it.
 */
export function postgresServer(options: {
  settings: PostgresSettings;
  runAs: RunAs;
  clock: Clock;
  logger: SidecarLogger;
}) {
  const { settings, runAs, clock, logger } = options;
  let child: ChildProcess | undefined;
  let exited: Promise<PostgresExit> | undefined;
  const ourPostgres = () => ourPostgresProcesses(settings.pgdata);

  /**
   * Immediate: SIGKILL to every PostgreSQL process of ours, then waits until none is alive; false if some are
   * still alive after killTimeoutMs (then nothing may be released: the peer has to fence this instance).
   */
  async function kill(): Promise<boolean> {
    if (child?.pid) signal(child.pid, 'SIGKILL');
    const giveUpAt = clock.monoMs() + settings.killTimeoutMs;
    for (;;) {
      const alive = ourPostgres();
      if (alive.length === 0) break;
      if (clock.monoMs() > giveUpAt) {
        logger.error(
          { event: 'postgres-unkillable', pids: alive.map((p) => p.pid) },
          'PostgreSQL processes survive SIGKILL',
        );
        return false;
      }
      for (const p of alive) signal(p.pid, 'SIGKILL');
      await clock.sleep(10);
    }
    // The postmaster's exit event may come a moment after its processes are gone; safety does not wait for it.
    if (exited) await Promise.race([exited, clock.sleep(settings.killTimeoutMs)]);
    return true;
  }

  return {
    /**
     * Spawns the server as the holder of `fencingToken`; crash recovery, if needed, runs before it accepts
     * connections. The token goes into the archive command, which refuses once a later holder claimed PGDATA.
     */
    start(fencingToken: number): Promise<PostgresExit> {
      const args = [
        '-D',
        settings.pgdata,
        '-c',
        `port=${settings.port}`,
        '-c',
        `listen_addresses=${settings.listenAddresses}`,
        '-c',
        `unix_socket_directories=${settings.socketDir}`,
        // "No acknowledged commit lost" rests on these; the command line overrides postgresql.conf and
        // ALTER SYSTEM, so nobody can turn them off by accident.
        '-c',
        'fsync=on',
        '-c',
        'full_page_writes=on',
        '-c',
        'synchronous_commit=on',
        // Before crash recovery PostgreSQL makes whatever the crashed server left in this host's page cache
        // durable: file by file (the default) that is one open and one fsync per file of the data directory,
        // each a round trip to EFS (seconds to minutes of every takeover); one syncfs(2) of the file system
        // flushes the same pages at once (Linux; errors reported since 5.8).
        '-c',
        'recovery_init_sync_method=syncfs',
        ...(settings.archive ? archiveFlags(settings.archive, fencingToken) : []),
      ];
      child = spawn(join(settings.binDir, 'postgres'), args, {
        ...runAs.spawnOptions,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const spawned = child;
      for (const stream of [spawned.stdout, spawned.stderr]) {
        if (stream) createInterface({ input: stream }).on('line', (line) => logger.info({ postgres: line }));
      }
      exited = new Promise((resolve) => {
        spawned.once('exit', (code, sig) => resolve({ code, signal: sig }));
        spawned.once('error', (error) => {
          logger.error({ event: 'postgres-spawn-failed', err: error }, 'could not start PostgreSQL');
          resolve({ code: null, signal: null });
        });
      });
      logger.info(
        { event: 'postgres-started', pid: spawned.pid, port: settings.port },
        'PostgreSQL starting',
      );
      return exited;
    },

    /** Polls until the server accepts connections; false if `keepWaiting` turns false first. */
    async waitUntilReady(keepWaiting: () => boolean): Promise<boolean> {
      while (keepWaiting()) {
        if (await acceptsConnections({ host: '127.0.0.1', port: settings.port, timeoutMs: 1000 }))
          return true;
        await clock.sleep(100);
      }
      return false;
    },

    /** One health probe: the server forks a backend that answers (see readiness.ts) within probeTimeoutMs. */
    probe: () =>
      acceptsConnections({ host: '127.0.0.1', port: settings.port, timeoutMs: settings.probeTimeoutMs }),

    kill,

    /** Fast shutdown (SIGINT: disconnect clients, checkpoint, exit); SIGKILL if that takes longer than allowed. */
    async stopCleanly(options: {
      timeoutMs: number;
      keepWaiting: () => boolean;
    }): Promise<'clean' | 'killed' | 'unkillable'> {
      // The postmaster is the PostgreSQL process whose parent is not PostgreSQL (backends are its children).
      const all = ourPostgres();
      const postmasters = all.filter((p) => !all.some((parent) => parent.pid === p.ppid));
      for (const p of postmasters) signal(p.pid, 'SIGINT');
      const giveUpAt = clock.monoMs() + options.timeoutMs;
      while (ourPostgres().length > 0) {
        if (clock.monoMs() > giveUpAt || !options.keepWaiting())
          return (await kill()) ? 'killed' : 'unkillable';
        await clock.sleep(50);
      }
      await exited;
      return 'clean';
    },
  };
}

export type PostgresServer = ReturnType<typeof postgresServer>;
