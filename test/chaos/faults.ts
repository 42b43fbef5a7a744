import type { ApiFault } from '../support/ec2-api-server';
import type { AwsCluster } from './aws-cluster';
import { leaseRequestTimeoutMs, type Primary } from './cluster';

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

/** The planned handover: the holder is stopped on purpose (scale-in, a rolling AMI update) and hands over. */
export const PLANNED_FAULTS: readonly Fault[] = ['sigterm-holder'];
/** The unplanned losses of the holder that issue 12's takeover target names: its crash, freeze or partition. */
export const CRASH_FREEZE_PARTITION: readonly Fault[] = [
  'sigkill-holder',
  'sigstop-holder',
  'store-partition',
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone: fenced or exited
  }
}

async function until(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean) {
  const giveUpAt = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUpAt) throw new Error(`fault: no ${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

// The promoter's calls (ec2/sidecar/promote/ec2-promoter.ts) and the failover Lambda's route calls.
const PROMOTION_ACTIONS = ['ModifyInstanceAttribute', 'DescribeRouteTables', 'CreateRoute', 'ReplaceRoute'];
const EC2_ERRORS: readonly ApiFault[] = ['throttle', 'server-error'];

let clockJumps = 0;

/**
 * Injects one fault into the instance holding the lease. Resolves when the fault itself is over (the frozen
 * instance continued, the partition healed, EC2 answers again), with a description if something the fault
 * checks itself went wrong; the takeover is observed separately, from the last `mark()` (a fault with a first
 * phase in which nothing must happen marks the moment its fatal part starts).
 */
export async function injectFault(
  cluster: AwsCluster,
  holder: Primary,
  fault: Fault,
  options: { ttlMs: number; promotionDeadlineMs: number; mark: () => void },
): Promise<string | undefined> {
  const { ttlMs, mark } = options;
  const slot = cluster.slotOf(holder.holderId);
  if (!slot) throw new Error(`holder ${holder.holderId} has no running sidecar`);
  const others = cluster.slots.filter((s) => s !== slot);
  switch (fault) {
    case 'sigkill-holder': // instance crash: the sidecar and its PostgreSQL die at once, EC2 still says running
      cluster.crash(slot);
      return undefined;
    case 'sigstop-holder': {
      // frozen instance (VM pause, long stall) past the TTL, then resumed
      const frozen = cluster.freeze(slot);
      await sleep(ttlMs * 1.5);
      cluster.thaw(slot, frozen);
      return undefined;
    }
    case 'sigterm-holder': // scale-in or a rolling AMI update: systemd stops the unit, then the instance goes
      cluster.scaleIn(slot);
      return undefined;
    case 'postgres-crash': {
      // The postmaster is the PostgreSQL process whose parent is not PostgreSQL.
      const postgres = cluster.postgresOf(slot);
      for (const postmaster of postgres.filter((p) => !postgres.some((parent) => parent.pid === p.ppid)))
        send(postmaster.pid, 'SIGKILL');
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
      const frozen = cluster.postgresOf(slot);
      for (const p of frozen) send(p.pid, 'SIGSTOP');
      await until(
        'frozen server stopped by its sidecar',
        ttlMs * 6,
        () => cluster.postgresOf(slot).filter((p) => frozen.some((f) => f.pid === p.pid)).length === 0,
      ).finally(() => {
        for (const p of frozen) send(p.pid, 'SIGCONT');
      });
      return undefined;
    }
    case 'ec2-errors': {
      // The holder's instance crashes while EC2 throttles and fails: first every call (the fence cannot stop
      // the old holder, nothing may start), then only the promotion's calls (the new holder runs PostgreSQL but
      // cannot move the route: it must step down at its promotion deadline so that another can take over),
      // until a second new generation of the lease shows that step-down; then EC2 recovers.
      const { emulator } = cluster;
      emulator.injectFaults({ rate: 1, faults: EC2_ERRORS });
      cluster.crash(slot);
      try {
        await sleep(ttlMs * 2);
        emulator.injectFaults({ rate: 1, faults: EC2_ERRORS, actions: PROMOTION_ACTIONS });
        await until(
          'step-down of a holder that could not promote',
          options.promotionDeadlineMs * 3 + ttlMs * 10,
          async () => {
            const lease = await cluster.store.readLease();
            return lease !== undefined && lease.fencingToken >= holder.fencingToken + 2;
          },
        );
      } finally {
        emulator.injectFaults({ rate: 0, faults: [] });
      }
      return undefined;
    }
    case 'sidecar-kill': // the sidecar alone crashes; systemd kills the rest of the unit and restarts it
      cluster.killSidecar(slot);
      return undefined;
    case 'clock-jump': {
      // The holder's and one standby's wall clocks step minutes apart, the other way round on every use.
      const sign = clockJumps++ % 2 === 0 ? 1 : -1;
      const stepped = [slot, others[0]].filter((s) => s !== undefined);
      stepped.forEach((s, i) => {
        cluster.setWallClockOffset(s, (i === 0 ? sign : -sign) * 180_000);
      });
      // A healthy primary is never replaced because a clock stepped.
      await sleep(ttlMs * 2);
      const now = await cluster.store.readLease();
      const replaced = now?.holderId !== holder.holderId || now.fencingToken !== holder.fencingToken;
      // Then a crash: the takeover must take the TTL, not the minutes the holder's clock is ahead.
      mark();
      cluster.crash(slot);
      await sleep(ttlMs * 2);
      for (const s of stepped) cluster.setWallClockOffset(s, undefined);
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
