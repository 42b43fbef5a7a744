// A web instance of the rehearsal: the production bundle (dist/web/main.mjs) started as userdata/webserver.sh
// starts it (its environment file, WEB_PROCESSES and DB_POOL_MAX from the template, the /load threads an
// instance of the type has, the drain grace), as an unprivileged user, inside a cgroup of its own whose CPU quota
// stands for the instance type's vCPUs. The cgroup's cpuacct counter is the instance's CPU, as the hypervisor's
// count is EC2's CPUUtilization.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CGROUP_V1 = '/sys/fs/cgroup';
/** The CFS period the quota is a share of: 20 ms (the kernel default is 100 ms), so that the instance runs as a slower CPU rather than in 100-ms bursts. */
const CFS_PERIOD_US = 20_000;

export class CgroupUnavailableError extends Error {
  override name = 'CgroupUnavailableError';
}

/** Checks that this machine lets the rehearsal make CPU-limited cgroups (cgroup v1 cpu + cpuacct, as root). */
export function checkCgroups(): void {
  for (const controller of ['cpu', 'cpuacct']) {
    if (!existsSync(join(CGROUP_V1, controller, 'cgroup.procs'))) {
      throw new CgroupUnavailableError(
        `the rehearsal needs the cgroup v1 ${controller} controller at ${join(CGROUP_V1, controller)} (run it as root on a host that mounts it)`,
      );
    }
  }
  if (process.getuid?.() !== 0)
    throw new CgroupUnavailableError('the rehearsal makes cgroups: run it as root');
}

export interface InstanceSettings {
  bundleDir: string;
  databaseUrl: string;
  /** The environment file's fixed lines and the settings webserver.sh writes. */
  environment: Record<string, string>;
  /** Host cores the instance's cgroup may use (its vCPUs × the share of a host core per vCPU). */
  cpuQuotaCores: number;
  logDir: string;
  /** cgroup folder name under each controller, unique to this run. */
  cgroupParent: string;
}

export class WebInstance {
  readonly id: string;
  readonly port: number;
  private child?: ChildProcess;
  private readonly cgroups: string[];
  private exited = false;
  private lastUsageNs = 0;

  constructor(
    id: string,
    port: number,
    private readonly settings: InstanceSettings,
  ) {
    this.id = id;
    this.port = port;
    this.cgroups = ['cpu', 'cpuacct'].map((c) => join(CGROUP_V1, c, settings.cgroupParent, id));
    for (const dir of this.cgroups) mkdirSync(dir, { recursive: true });
    writeFileSync(join(this.cgroups[0] as string, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    this.limitCpu(settings.cpuQuotaCores);
  }

  /** Sets the CPU quota: the instance type's share, or none (-1) while the app starts. */
  limitCpu(cores: number | null): void {
    writeFileSync(
      join(this.cgroups[0] as string, 'cpu.cfs_quota_us'),
      String(cores === null ? -1 : Math.round(cores * CFS_PERIOD_US)),
    );
  }

  /** Starts the web app in the instance's cgroup (what systemctl restart cloudy-web does on the instance). */
  start(): void {
    const log = openSync(join(this.settings.logDir, `${this.id}.log`), 'a');
    const main = join(this.settings.bundleDir, 'web/main.mjs');
    const procs = this.cgroups.map((dir) => join(dir, 'cgroup.procs'));
    // The shell joins the cgroups, then becomes node as `nobody` (the service's User=cloudy stands in).
    const script = `${procs.map((p) => `echo $$ > ${p}`).join(' && ')} && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" ${main}`;
    this.child = spawn('sh', ['-c', script, process.execPath], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...this.settings.environment,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATABASE_URL: this.settings.databaseUrl,
      },
      stdio: ['ignore', log, log],
    });
    this.child.once('exit', () => {
      this.exited = true;
    });
  }

  get running(): boolean {
    return this.child !== undefined && !this.exited;
  }

  /** Nanoseconds of CPU the instance's processes used so far (the last reading once the cgroup is gone). */
  cpuUsageNs(): number {
    try {
      this.lastUsageNs = Number(readFileSync(join(this.cgroups[1] as string, 'cpuacct.usage'), 'utf8'));
    } catch {
      // removed: the instance is terminated and used nothing since
    }
    return this.lastUsageNs;
  }

  private pids(): number[] {
    try {
      return readFileSync(join(this.cgroups[1] as string, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }

  /** systemd's stop of cloudy-web: SIGTERM to the main process (KillMode=mixed), SIGKILL to all after the timeout. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.child && !this.exited) {
      this.child.kill('SIGTERM');
      const exited = once(this.child, 'exit');
      const timedOut = sleep(timeoutMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timedOut])) === 'timeout') this.kill();
    }
    await this.reap();
  }

  /** The instance dies at once (every process of it SIGKILLed), as a failed host does. */
  kill(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Waits for every process of the cgroup to be gone, then removes the cgroups. */
  async reap(): Promise<void> {
    this.cpuUsageNs();
    for (let i = 0; i < 100 && this.pids().length > 0; i++) await sleep(50);
    if (this.pids().length > 0) this.kill();
    for (let i = 0; i < 100 && this.pids().length > 0; i++) await sleep(50);
    this.cpuUsageNs();
    for (const dir of this.cgroups) {
      try {
        rmdirSync(dir);
      } catch {
        // left for removeCgroupParent
      }
    }
  }
}

/**
 * CPU weight of the run's cgroup against everything else on the host (a nice-0 process weighs 1024). An EC2
 * instance owns its vCPUs: on a shared host, other work must not take an instance's quota away, or its CPU
 * reads low and its requests slow for reasons AWS does not have. The quotas still cap what the run can take.
 */
const RUN_CPU_SHARES = 65_536;
/** Inside the run: the harness (load balancer, artillery, PostgreSQL) against each instance. */
const HARNESS_CPU_SHARES = 2048;

/**
 * Makes the run's cgroup and moves this process (and so everything it starts later: artillery, PostgreSQL) into
 * its `harness` child. Returns the undo.
 */
export function enterRunCgroup(parent: string): () => void {
  const dir = join(CGROUP_V1, 'cpu', parent);
  mkdirSync(join(dir, 'harness'), { recursive: true });
  mkdirSync(join(CGROUP_V1, 'cpuacct', parent), { recursive: true });
  writeFileSync(join(dir, 'cpu.shares'), String(RUN_CPU_SHARES));
  writeFileSync(join(dir, 'harness', 'cpu.shares'), String(HARNESS_CPU_SHARES));
  writeFileSync(join(dir, 'harness', 'cgroup.procs'), String(process.pid));
  return () => {
    writeFileSync(join(CGROUP_V1, 'cpu', 'cgroup.procs'), String(process.pid));
    for (const leftover of [join(dir, 'harness'), dir, join(CGROUP_V1, 'cpuacct', parent)]) {
      try {
        rmdirSync(leftover);
      } catch {
        // a child still in it (it exits with its processes); the kernel drops an empty cgroup's processes
      }
    }
  };
}
