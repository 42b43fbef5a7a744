import type { LeaseStore } from '../../../shared/lease-table/holder-writes';
import type { Clock } from '../clock';
import type { Fencer } from '../fence/fencer';

/**
 * The database tier's CloudWatch metrics, as embedded-metric-format (EMF) lines: JSON objects that CloudWatch
 * Logs turns into metrics once the CloudWatch agent has shipped them (no PutMetricData, no permission beyond
 * the log group's). They are measured around the lease store and the fencer (decorators), so the lease logic
 * itself is untouched.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
const LEASE_METRIC_UNITS = {
  /** Round trip of each successful renewal, as an array of values per line (percentiles on the dashboard). */
  LeaseRenewLatency: 'Milliseconds',
  /** Renewals that failed (store unavailable, or refused because the lease was taken). */
  LeaseRenewFailures: 'Count',
  /** 1 from the instance holding the lease: per InstanceId it shows which instance is the primary. */
  LeaseHeld: 'Count',
  /** Lease acquisitions: each is a new primary (first start, planned handover or failover). */
  Takeovers: 'Count',
  /**
   * Acquisitions that fence: the expired holder before the take, or every other instance right after it (the
   * item was deleted or corrupt, so the holder is unknown): unplanned failovers. The stage's very first take
   * (no item, and no holder ever recorded on the data directory) fences too, but replaces no primary.
   */
  FencedTakeovers: 'Count',
} as const;

type LeaseMetricName = keyof typeof LEASE_METRIC_UNITS;
const LEASE_METRIC_NAMES = Object.keys(LEASE_METRIC_UNITS) as LeaseMetricName[];
/** Every metric is written twice: for the tier (no dimension) and per instance. */
export const LEASE_METRIC_DIMENSIONS: string[][] = [[], ['InstanceId']];
// EMF accepts at most 100 values in one metric's array.
const MAX_VALUES = 100;

/** One EMF document (one log line) carrying the given values. Pure. */
export function leaseMetricsDocument(input: {
  namespace: string;
  instanceId: string;
  timestampMs: number;
  values: Partial<Record<LeaseMetricName, number | number[]>>;
}): Record<string, unknown> {
  const names = LEASE_METRIC_NAMES.filter((name) => input.values[name] !== undefined);
  return {
    _aws: {
      Timestamp: input.timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: input.namespace,
          Dimensions: LEASE_METRIC_DIMENSIONS,
          Metrics: names.map((name) => ({ Name: name, Unit: LEASE_METRIC_UNITS[name] })),
        },
      ],
    },
    InstanceId: input.instanceId,
    ...input.values,
  };
}

export interface LeaseMetrics {
  renewed(latencyMs: number): void;
  renewFailed(): void;
  fenced(): void;
  acquired(): void;
  acquireFailed(): void;
}

/**
 * Collects the measurements and writes them as lines: renewal latencies once per window (one line a minute
 * from the holder, with LeaseHeld and a zero failure count, so that a healthy holder reports too), failures and
 * acquisitions at once (an alarm must not wait for a window the self-fence may cut short).
 */
export function leaseMetrics(options: {
  namespace: string;
  instanceId: string;
  clock: Clock;
  write: (line: string) => void;
  windowMs?: number;
}): LeaseMetrics {
  const { clock, write } = options;
  const windowMs = options.windowMs ?? 60_000;
  let latencies: number[] = [];
  let windowStartMs = clock.monoMs();
  let fencedBeforeAcquire = false;

  const emit = (values: Partial<Record<LeaseMetricName, number | number[]>>) =>
    write(
      JSON.stringify(
        leaseMetricsDocument({
          namespace: options.namespace,
          instanceId: options.instanceId,
          timestampMs: clock.wallMs(),
          values,
        }),
      ),
    );

  return {
    renewed(latencyMs) {
      latencies.push(Math.round(latencyMs));
      if (latencies.length < MAX_VALUES && clock.monoMs() - windowStartMs < windowMs) return;
      emit({ LeaseRenewLatency: latencies, LeaseRenewFailures: 0, LeaseHeld: 1 });
      latencies = [];
      windowStartMs = clock.monoMs();
    },
    renewFailed: () => emit({ LeaseRenewFailures: 1 }),
    fenced() {
      fencedBeforeAcquire = true;
    },
    acquired() {
      emit({ Takeovers: 1, FencedTakeovers: fencedBeforeAcquire ? 1 : 0, LeaseHeld: 1 });
      fencedBeforeAcquire = false;
      latencies = [];
      windowStartMs = clock.monoMs();
    },
    acquireFailed() {
      // The fenced peer's lease was not taken (a race lost): the next acquisition is judged on its own.
      fencedBeforeAcquire = false;
    },
  };
}

/** The lease store, with each renewal timed and each acquisition counted. */
export function measuredLeaseStore(store: LeaseStore, metrics: LeaseMetrics, clock: Clock): LeaseStore {
  return {
    ...store,
    async renew(input) {
      const startedMs = clock.monoMs();
      try {
        const written = await store.renew(input);
        metrics.renewed(clock.monoMs() - startedMs);
        return written;
      } catch (error) {
        metrics.renewFailed();
        throw error;
      }
    },
    async acquire(input) {
      if (input.fenceAllPending && !isFirstEverTake(input)) metrics.fenced();
      let fencingToken: number;
      try {
        fencingToken = await store.acquire(input);
      } catch (error) {
        metrics.acquireFailed();
        throw error;
      }
      metrics.acquired();
      return fencingToken;
    },
  };
}

/**
 * No lease item, and seeded with the first token (ec2/sidecar/sidecar.ts seeds with the data directory's recorded
 * token + 1): no holder ever started PostgreSQL on this data directory, so there is no primary to replace.
 */
function isFirstEverTake(input: Parameters<LeaseStore['acquire']>[0]): boolean {
  return input.replaces.kind === 'absent' && input.seedToken === 1;
}

/** The fencer, noting a confirmed fence so that the acquisition after it counts as a fenced takeover. */
export function measuredFencer<F extends Fencer>(fencer: F, metrics: LeaseMetrics): F {
  return {
    ...fencer,
    async fence(peerId: string) {
      await fencer.fence(peerId);
      metrics.fenced();
    },
  };
}
