import type { Ec2Timing } from '../support/ec2-api-server';

/**
 * The EC2 timings the fault suite emulates (test/support/ec2-api-server.ts), with where each comes from. Only the
 * long run uses them as they are; the short run inside `npm test` scales them down (`scaledEc2Timing`), which
 * changes how long a takeover takes, never what the sidecars must do.
 */
export interface ChaosEc2Timing extends Ec2Timing {
  /** The Auto Scaling group replaces a stopped or terminated database instance with a new one after this long. */
  replacementDelayMs: number;
  /** systemd's RestartSec for the sidecar unit on an instance that still runs. */
  restartDelayMs: number;
  /** systemd's TimeoutStopSec: a graceful OS shutdown kills what is left of the sidecar's unit after this long. */
  unitStopTimeoutMs: number;
  /** An instance's kernel writes its dirty pages to EFS this often (page-cache.ts). */
  writebackIntervalMs: number;
  /** Every fsync/fdatasync of an instance's PostgreSQL waits this long first: EFS's commit latency. */
  efsCommitLatencyMs: number;
}

export const AWS_EC2_TIMING: ChaosEc2Timing = {
  // "The Amazon EC2 API follows an eventual consistency model ... the result of an API command ... might not be
  // immediately visible"; AWS advises retrying Describe* "starting with a couple of seconds of wait time"
  // (Amazon EC2 Developer Guide, "Eventual consistency in the Amazon EC2 API"). Two seconds.
  describeLagMs: 2_000,
  // A stop without SkipOsShutdown first sends the guest an ACPI shutdown; "If the instance OS does not cleanly
  // shut down within a few minutes, a hard shutdown is performed" (Amazon EC2 User Guide, "How EC2 instance stop
  // and start works"; the same for Force: "If the graceful shutdown fails to complete within the timeout period,
  // the instance shuts down forcibly", StopInstances API reference). "A few minutes": three.
  osShutdownTimeoutMs: 180_000,
  // `stopping` → power-off and `stopped` (after the OS shutdown, if any). The instance runs on until then: its
  // processes, its page cache and its writes. AWS documents no figure for this step; ten seconds is this
  // project's estimate, to be replaced by a measurement on AWS (docs/DATABASE-TIER.md, "What bounds a takeover").
  stopDurationMs: 10_000,
  // "Status checks are performed every minute, returning a pass or a fail status" (Amazon EC2 User Guide, "Status
  // checks for Amazon EC2 instances"): an instance that stops answering is `impaired` after one check period.
  impairedAfterMs: 60_000,
  // An injected timeout answers after the sidecar's EC2 request timeout (10 s, ec2/sidecar/aws-clients.ts) and the
  // failover Lambda's (5 s, handlers/failover/aws-clients.ts): the client has given up, the request was carried out. A fault, not an AWS timing.
  timeoutFaultMs: 12_000,
  // An Auto Scaling replacement takes minutes on AWS (health check, launch, boot). It bounds how soon the tier
  // is back to full strength, never a takeover (a standby is already running), and the run waits for full
  // strength between faults anyway: shortened to 5 s so that a bounded run covers more faults.
  replacementDelayMs: 5_000,
  // userdata/database.sh: RestartSec=2 and TimeoutStopSec=45 in the sidecar's unit.
  restartDelayMs: 2_000,
  unitStopTimeoutMs: 45_000,
  // Linux writes dirty data back once it is older than vm.dirty_expire_centisecs (default 3000: 30 s), checked
  // every vm.dirty_writeback_centisecs (500: 5 s) (kernel documentation, admin-guide/sysctl/vm.rst). The emulated
  // kernel writes everything dirty back every 30 s: what a host did not flush reaches the storage up to 30 s
  // late, which is what a release without syncfs leaves to chance.
  writebackIntervalMs: 30_000,
  // "Regional file systems: ... as low as 2.7 milliseconds for writes" (Amazon EFS User Guide, "Amazon EFS
  // performance", latency): the floor of a commit on EFS, added to every fsync of the local disk below. Not
  // scaled in the short run: it is a per-commit cost, not a wait of the protocol.
  efsCommitLatencyMs: 2.7,
};

/** Every timing multiplied by `factor` (0 < factor ≤ 1), for the short run; the fault timeout stays past the clients'. */
export function scaledEc2Timing(factor: number, base: ChaosEc2Timing = AWS_EC2_TIMING): ChaosEc2Timing {
  const scale = (ms: number) => Math.round(ms * factor);
  return {
    describeLagMs: scale(base.describeLagMs),
    osShutdownTimeoutMs: scale(base.osShutdownTimeoutMs),
    stopDurationMs: scale(base.stopDurationMs),
    impairedAfterMs: scale(base.impairedAfterMs),
    timeoutFaultMs: base.timeoutFaultMs,
    replacementDelayMs: scale(base.replacementDelayMs),
    restartDelayMs: scale(base.restartDelayMs),
    unitStopTimeoutMs: scale(base.unitStopTimeoutMs),
    writebackIntervalMs: scale(base.writebackIntervalMs),
    efsCommitLatencyMs: base.efsCommitLatencyMs,
  };
}

/** One line naming every emulated timing, printed by each run and written beside its table. */
export function describeEc2Timing(timing: ChaosEc2Timing): string {
  const s = (ms: number) => `${ms / 1000} s`;
  return (
    `emulated EC2: Describe* lag ${s(timing.describeLagMs)}, OS-shutdown timeout of a stop without ` +
    `SkipOsShutdown ${s(timing.osShutdownTimeoutMs)}, power-off → stopped ${s(timing.stopDurationMs)}, ` +
    `impaired after ${s(timing.impairedAfterMs)}, injected timeouts answer after ${s(timing.timeoutFaultMs)}, ` +
    `ASG replacement ${s(timing.replacementDelayMs)}, unit RestartSec ${s(timing.restartDelayMs)}, ` +
    `TimeoutStopSec ${s(timing.unitStopTimeoutMs)}; per instance: a LazyFS page cache written back every ` +
    `${s(timing.writebackIntervalMs)}, EFS commit latency ${timing.efsCommitLatencyMs} ms on every fsync`
  );
}
