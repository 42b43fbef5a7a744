import type { Logger } from '../../shared/logger';
import { cpuUsageBetween } from './cpu-times';
import { type InstanceIdentity, toMetricData } from './metric-data';
import type { MetricsPublisher } from './metrics-publisher';
import type { ProcSample } from './read-proc';

interface ReporterOptions {
  readSample: () => Promise<ProcSample>;
  publisher: MetricsPublisher;
  identity: InstanceIdentity;
  intervalMs: number;
  logger: Logger;
}

interface RunningReporter {
  /** Stops the schedule, waits for a reading in progress, then sends what is still buffered once. */
  stop(): Promise<void>;
}

/**
 * Every interval: read /proc, turn the difference to the previous reading into metrics, send them.
 * Readings are scheduled at fixed times from the start (no drift) and never overlap; any failure is
 * logged and the schedule goes on.
 */
export function startMetricsReporter(options: ReporterOptions): RunningReporter {
  const { readSample, publisher, identity, intervalMs, logger } = options;
  let previous: ProcSample | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;
  let nextDue = Date.now();

  const read = async (): Promise<ProcSample | undefined> => {
    try {
      return await readSample();
    } catch (error) {
      logger.error({ err: error }, 'reading /proc failed');
      return undefined;
    }
  };

  const tick = async (): Promise<void> => {
    const sample = await read();
    if (sample) {
      const cpu = previous ? cpuUsageBetween(previous.cpu, sample.cpu) : undefined;
      if (previous) publisher.enqueue(toMetricData({ cpu, memory: sample.memory }, identity, new Date()));
      previous = sample;
    }
    if (publisher.buffered() > 0) {
      const result = await publisher.flush();
      logger.debug(result, 'metrics flushed');
    }
  };

  const schedule = () => {
    if (stopped) return;
    // A reading that overran its slot (a slow CloudWatch) skips the slots it missed instead of bunching up.
    do nextDue += intervalMs;
    while (nextDue <= Date.now());
    timer = setTimeout(
      () => {
        inFlight = tick()
          .catch((error: unknown) => logger.error({ err: error }, 'metrics reading failed'))
          .finally(schedule);
      },
      Math.max(0, nextDue - Date.now()),
    );
  };

  // The first reading is only the baseline for CPU: usage is a difference between two readings.
  inFlight = read().then((sample) => {
    previous = sample;
    schedule();
  });

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      if (publisher.buffered() > 0) await publisher.flush();
    },
  };
}
