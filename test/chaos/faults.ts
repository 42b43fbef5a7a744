import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendantsOf, isLive, listProcesses } from '../../ec2/sidecar/proc/process-table';
import { type Cluster, leaseRequestTimeoutMs, type Primary } from './cluster';

export const FAULTS = [
  'sigkill-holder',
  'sigstop-holder',
  'sigterm-holder',
  'postgres-crash',
  'store-partition',
  'lease-deleted',
  'lease-corrupt',
  'postgres-freeze',
  'ec2-errors',
  'sidecar-kill',
  'clock-jump',
  'store-slow',
] as const;
export type Fault = (typeof FAULTS)[number];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone: fenced or exited
  }
}

/** The live PostgreSQL processes under a sidecar: its postmaster and the postmaster's children. */
function postgresOf(sidecarPid: number) {
  return descendantsOf(sidecarPid, listProcesses()).filter((p) => p.comm === 'postgres' && isLive(p));
}

async function until(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean) {
  const giveUpAt = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUpAt) throw new Error(`fault: no ${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

let clockJumps = 0;

/**
 * Injects one fault into the sidecar slot holding the lease. Resolves when the fault itself is over (the frozen
 * holder continued, the partition healed), with a description if something the fault checks itself went wrong;
 * the takeover is observed separately, from the last `mark()` (a fault with a first phase in which nothing
 * must happen marks the moment its fatal part starts).
 */
export async function injectFault(
  cluster: Cluster,
  holder: Primary,
  fault: Fault,
  options: { ttlMs: number; mark: () => void },
): Promise<string | undefined> {
  const { ttlMs, mark } = options;
  const slot = cluster.slotOf(holder.holderId);
  const pid = slot?.current?.child.pid;
  if (!slot || !pid) throw new Error(`holder ${holder.holderId} has no running sidecar`);
  const others = cluster.slots.filter((s) => s !== slot);
  switch (fault) {
    case 'sigkill-holder': // instance crash: the sidecar and its PostgreSQL die at once
      send(-pid, 'SIGKILL');
      return undefined;
    case 'sigstop-holder': // frozen instance (VM pause, long stall) past the TTL, then resumed
      send(-pid, 'SIGSTOP');
      await sleep(ttlMs * 1.5);
      send(-pid, 'SIGCONT');
      return undefined;
    case 'sigterm-holder': // scale-in or reboot: systemd stops the unit
      send(pid, 'SIGTERM');
      return undefined;
    case 'postgres-crash': {
      // The postmaster is the PostgreSQL process whose parent is not PostgreSQL.
      const postgres = postgresOf(pid);
      for (const postmaster of postgres.filter((p) => !postgres.some((parent) => parent.pid === p.ppid))) {
        send(postmaster.pid, 'SIGKILL');
      }
      return undefined;
    }
    case 'store-partition': // the holder cannot reach the lease store; everyone else can
      slot.proxy.setPartitioned(true);
      await sleep(ttlMs * 2);
      slot.proxy.setPartitioned(false);
      return undefined;
    case 'lease-deleted': // a person, or a recreated table: the holder is unknown
      await cluster.store.deleteLease();
      return undefined;
    case 'lease-corrupt': // a bad hand edit or deploy: wrong types, the holder unreadable
      await cluster.store.putRawLease({ holderId: { N: '7' }, fencingToken: { S: 'seven' } });
      return undefined;
    case 'postgres-freeze': {
      // A hung mount, as PostgreSQL sees it: the server stops answering while its sidecar runs on.
      for (const p of postgresOf(pid)) send(p.pid, 'SIGSTOP');
      await until(
        'frozen server stopped by its sidecar',
        ttlMs * 6,
        () => postgresOf(pid).length === 0,
      ).finally(() => {
        for (const p of postgresOf(pid)) send(p.pid, 'SIGCONT');
      });
      return undefined;
    }
    case 'ec2-errors': {
      // Every standby's promotion fails (EC2 throttling / 5xx on the route calls) when the holder dies: the
      // next holder must step down at its promotion deadline and another take over, until EC2 recovers.
      for (const s of cluster.slots) writeFileSync(join(s.faultDir, 'promote-fails'), '');
      send(-pid, 'SIGKILL');
      try {
        await until(
          'step-down of a holder that could not promote',
          Math.max(90_000, ttlMs * 10),
          async () => {
            const lease = await cluster.store.readLease();
            return lease !== undefined && lease.fencingToken >= holder.fencingToken + 2;
          },
        );
      } finally {
        for (const s of cluster.slots) rmSync(join(s.faultDir, 'promote-fails'), { force: true });
      }
      return undefined;
    }
    case 'sidecar-kill': // the sidecar alone crashes; systemd kills the rest of the unit and restarts it
      slot.restartWithSameId = true;
      send(pid, 'SIGKILL');
      return undefined;
    case 'clock-jump': {
      // The holder's and one standby's wall clocks step minutes apart, the other way round on every use.
      const sign = clockJumps++ % 2 === 0 ? 1 : -1;
      const offsets = new Map([
        [slot, sign * 180_000],
        [others[0], -sign * 180_000],
      ]);
      for (const [s, offset] of offsets)
        if (s) writeFileSync(join(s.faultDir, 'wall-clock-offset-ms'), String(offset));
      // A healthy primary is never replaced because a clock stepped.
      await sleep(ttlMs * 2);
      const now = await cluster.store.readLease();
      const replaced = now?.holderId !== holder.holderId || now.fencingToken !== holder.fencingToken;
      // Then a crash: the takeover must take the TTL, not the minutes the holder's clock is ahead.
      mark();
      send(-pid, 'SIGKILL');
      await sleep(ttlMs * 2);
      for (const s of cluster.slots) rmSync(join(s.faultDir, 'wall-clock-offset-ms'), { force: true });
      return replaced ? `healthy holder ${holder.holderId} replaced after its clock stepped` : undefined;
    }
    case 'store-slow': {
      // Answers come late: every one of the holder's past its client timeout (its renewals are applied, it is
      // never told), the others' anywhere up to 1.5 times it (some reads and takes time out, applied or not).
      const timeoutMs = leaseRequestTimeoutMs(cluster.timing);
      slot.proxy.setAnswerDelay(() => timeoutMs * 1.5);
      for (const s of others) s.proxy.setAnswerDelay(() => Math.random() * timeoutMs * 1.5);
      await sleep(ttlMs * 2);
      for (const s of cluster.slots) s.proxy.setAnswerDelay(undefined);
      return undefined;
    }
  }
}
