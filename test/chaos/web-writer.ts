import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { freePort } from '../support/local-postgres';

const REPO = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * The web app as `npm start` runs it (web/main-local.ts: its server, pool, timeouts, migrations at start),
 * one HTTP process, its database the VIP router's port with TLS verified against the tier's CA
 * (verify-full, as the app verifies on AWS). Resolves once it answers /health.
 */
export async function startWebApp(options: {
  databaseUrl: string;
  logFile: string;
  timeoutMs: number;
}): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const port = await freePort();
  const log = openSync(options.logFile, 'a');
  const giveUpAt = performance.now() + options.timeoutMs;
  for (;;) {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'web/main-local.ts'], {
      cwd: REPO,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: options.databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        WEB_PROCESSES: '1',
        LOAD_THREADS: '1',
        LOG_LEVEL: 'warn',
      },
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    while (!exited && performance.now() < giveUpAt) {
      const healthy = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (healthy) {
        return {
          baseUrl,
          async stop() {
            if (exited) return;
            const gone = new Promise((done) => child.once('exit', done));
            child.kill('SIGTERM');
            // The wait for a graceful exit must not keep the test process alive once the app is gone.
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([gone, new Promise((done) => (timer = setTimeout(done, 20_000)))]);
            clearTimeout(timer);
            child.kill('SIGKILL');
          },
        };
      }
      await sleep(200);
    }
    child.kill('SIGKILL');
    // A start during a takeover fails its migration and exits; the unit would be restarted, and so is this.
    if (performance.now() >= giveUpAt) throw new Error(`web app not healthy within ${options.timeoutMs} ms`);
  }
}

export interface WriteAttempt {
  startMs: number;
  endMs: number;
  acknowledged: boolean;
}

/**
 * A client of the web app: POST /users at a fixed rate (one request at a time, each bounded by a timeout), each
 * with a new username. A 201 is an acknowledged write; anything else (an error status, a reset, a timeout) is not.
 */
export function startWebWriter(options: { baseUrl: string; intervalMs: number; requestTimeoutMs: number }) {
  const attempts: WriteAttempt[] = [];
  const acknowledged: string[] = [];
  let next = 1;
  let running = true;
  async function loop(): Promise<void> {
    let dueMs = performance.now();
    while (running) {
      dueMs += options.intervalMs;
      await sleep(Math.max(0, dueMs - performance.now()));
      dueMs = Math.max(dueMs, performance.now() - options.intervalMs);
      const username = `w${next++}`;
      const startMs = performance.now();
      let ok = false;
      try {
        const response = await fetch(`${options.baseUrl}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, email: `${username}@chaos.example` }),
          signal: AbortSignal.timeout(options.requestTimeoutMs),
        });
        await response.arrayBuffer();
        ok = response.status === 201;
      } catch {
        ok = false;
      }
      attempts.push({ startMs, endMs: performance.now(), acknowledged: ok });
      if (ok) acknowledged.push(username);
    }
  }
  const done = loop();
  return {
    acknowledged: () => [...acknowledged],
    attempts: () => attempts,
    /** Resolves once a write started after `atMs` is acknowledged, or after `timeoutMs`. */
    async ackAfter(atMs: number, timeoutMs: number): Promise<boolean> {
      const giveUpAt = performance.now() + timeoutMs;
      while (performance.now() < giveUpAt) {
        if (attempts.some((a) => a.acknowledged && a.startMs > atMs)) return true;
        await sleep(50);
      }
      return false;
    },
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

/**
 * The client-visible write outage around a fault: the longest time without an acknowledged write, from the last
 * acknowledgement before the fault to the first one of a write started after the takeover. A write that fails and
 * one that hangs both count; undefined if no write was acknowledged after the takeover.
 */
export function writeOutageMs(attempts: WriteAttempt[], faultAtMs: number, takeoverAtMs: number) {
  const acks = attempts.filter((a) => a.acknowledged).map((a) => a.endMs);
  const firstAfter = attempts.find((a) => a.acknowledged && a.startMs > takeoverAtMs)?.endMs;
  if (firstAfter === undefined) return undefined;
  const lastBefore = acks.filter((at) => at <= faultAtMs).pop() ?? faultAtMs;
  const within = [lastBefore, ...acks.filter((at) => at > lastBefore && at <= firstAfter)];
  let longest = 0;
  for (let i = 1; i < within.length; i++)
    longest = Math.max(longest, (within[i] as number) - (within[i - 1] as number));
  return longest;
}

/** Acknowledged usernames absent from the users table on the server at `port` (as the application's role, TLS). */
export async function missingUsers(options: {
  port: number;
  connection: pg.ClientConfig;
  acknowledged: string[];
}): Promise<string[]> {
  const client = new pg.Client({
    ...options.connection,
    host: '127.0.0.1',
    port: options.port,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    const result = await client.query<{ username: string }>('SELECT username FROM users');
    const present = new Set(result.rows.map((row) => row.username));
    return options.acknowledged.filter((username) => !present.has(username));
  } finally {
    await client.end().catch(() => {});
  }
}
