import { isLive, listProcesses } from '../../ec2/sidecar/proc/process-table';
import type { Cluster } from './cluster';

export const FAULTS = [
  'sigkill-holder',
  'sigstop-holder',
  'sigterm-holder',
  'postgres-crash',
  'store-partition',
] as const;
export type Fault = (typeof FAULTS)[number];

function send(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone: fenced or exited
  }
}

/**
 * Injects one fault into the sidecar slot holding the lease. Resolves when the fault itself is over (the frozen
 * holder continued, the partition healed); the takeover is observed separately.
 */
export async function injectFault(
  cluster: Cluster,
  holderId: string,
  fault: Fault,
  ttlMs: number,
): Promise<void> {
  const slot = cluster.slotOf(holderId);
  const pid = slot?.current?.child.pid;
  if (!slot || !pid) throw new Error(`holder ${holderId} has no running sidecar`);
  switch (fault) {
    case 'sigkill-holder': // instance crash: the sidecar and its PostgreSQL die at once
      send(-pid, 'SIGKILL');
      return;
    case 'sigstop-holder': // frozen instance (VM pause, long stall) past the TTL, then resumed
      send(-pid, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, ttlMs * 1.5));
      send(-pid, 'SIGCONT');
      return;
    case 'sigterm-holder': // scale-in or reboot: systemd stops the unit
      send(pid, 'SIGTERM');
      return;
    case 'postgres-crash': {
      // The postmaster is the PostgreSQL process whose parent is not PostgreSQL.
      const group = listProcesses().filter((p) => p.pgid === pid && isLive(p));
      const postgres = group.filter((p) => p.comm === 'postgres');
      for (const postmaster of postgres.filter((p) => !postgres.some((parent) => parent.pid === p.ppid))) {
        send(postmaster.pid, 'SIGKILL');
      }
      return;
    }
    case 'store-partition': // the holder cannot reach the lease store; everyone else can
      slot.proxy.setPartitioned(true);
      await new Promise((resolve) => setTimeout(resolve, ttlMs * 2));
      slot.proxy.setPartitioned(false);
      return;
  }
}
