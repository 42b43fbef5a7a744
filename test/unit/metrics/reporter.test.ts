import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { parseCpuTimes } from '../../../ec2/metrics/cpu-times';
import { parseMemoryInfo } from '../../../ec2/metrics/memory-info';
import { metricsPublisher } from '../../../ec2/metrics/metrics-publisher';
import type { ProcSample } from '../../../ec2/metrics/read-proc';
import { startMetricsReporter } from '../../../ec2/metrics/reporter';
import { createLogger } from '../../../shared/logger';

const cloudWatch = mockClient(CloudWatchClient);
const logger = createLogger('test', 'silent');
const MINUTE = 60_000;

const captured = (sample: number): ProcSample => {
  const read = (file: string) =>
    readFileSync(new URL(`../../fixtures/proc/sample-${sample}/${file}`, import.meta.url), 'utf8');
  return { cpu: parseCpuTimes(read('stat')), memory: parseMemoryInfo(read('meminfo')) };
};

/** Lets the reporter's promise chains run (setImmediate is not faked). */
const settle = async () => {
  for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** Readings served in order; an Error in the list is thrown by that read. */
const readingsFrom = (readings: Array<ProcSample | Error>) => {
  let next = 0;
  return async () => {
    const reading = readings[Math.min(next, readings.length - 1)];
    next += 1;
    if (!reading || reading instanceof Error) throw reading ?? new Error('no reading');
    return reading;
  };
};

const start = (readings: Array<ProcSample | Error>) =>
  startMetricsReporter({
    readSample: readingsFrom(readings),
    publisher: metricsPublisher({ client: new CloudWatchClient({}), namespace: 'Cloudy/dev', logger }),
    identity: { instanceId: 'i-0abc', autoScalingGroupName: 'cloudy-dev-web' },
    intervalMs: MINUTE,
    logger,
  });

const metricNamesSent = () =>
  cloudWatch
    .commandCalls(PutMetricDataCommand)
    .map((call) => (call.args[0].input.MetricData ?? []).map((datum) => datum.MetricName));

describe('startMetricsReporter', () => {
  beforeEach(() => {
    cloudWatch.reset();
    cloudWatch.on(PutMetricDataCommand).resolves({});
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: new Date('2026-11-26T12:00:00Z') });
  });

  afterEach(() => {
    mock.timers.reset();
  });

  it('takes a baseline at start and sends the first metrics one interval later', async () => {
    // Prepare
    const reporter = start([captured(1), captured(2)]);
    await settle();

    // Act
    mock.timers.tick(MINUTE - 1);
    await settle();
    // Assess
    assert.equal(cloudWatch.commandCalls(PutMetricDataCommand).length, 0);

    mock.timers.tick(1);
    await settle();
    assert.deepEqual(metricNamesSent(), [
      ['CPUUtilization', 'CPUUtilization', 'IOWait', 'IOWait', 'MemoryUtilization', 'MemoryUtilization'],
    ]);
    const cpu = cloudWatch.commandCalls(PutMetricDataCommand)[0]?.args[0].input.MetricData?.[0];
    assert.equal(cpu?.Value, 30.12);
    assert.deepEqual(cpu?.Timestamp, new Date('2026-11-26T12:01:00Z'));
    await reporter.stop();
  });

  it('sends once per interval and goes on after a failed reading', async () => {
    // Prepare
    const reporter = start([captured(1), captured(2), new Error('EIO'), captured(2)]);
    await settle();

    // Act
    for (let minute = 0; minute < 3; minute += 1) {
      mock.timers.tick(MINUTE);
      await settle();
    }

    // Assess
    // Minute 1 sends all three metrics; minute 2's reading failed; minute 3 compares two equal readings,
    // which carry no CPU time, so only memory is sent.
    assert.deepEqual(
      metricNamesSent().map((names) => names.length),
      [6, 2],
    );
    await reporter.stop();
  });

  it('sends throttled metrics with the next interval', async () => {
    // Prepare
    cloudWatch
      .on(PutMetricDataCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))
      .resolves({});
    const reporter = start([captured(1), captured(2)]);
    await settle();

    // Act
    mock.timers.tick(MINUTE);
    await settle();
    mock.timers.tick(MINUTE);
    await settle();

    // Assess
    assert.deepEqual(
      metricNamesSent().map((names) => names.length),
      [6, 8],
    );
    await reporter.stop();
  });

  it('skips the slots a slow send overran instead of sending several at once', async () => {
    // Prepare
    // The first send takes 2.5 minutes (1:00 → 3:30): the next reading is at 4:00, not at once for 2:00 and 3:00.
    cloudWatch
      .on(PutMetricDataCommand)
      .callsFakeOnce(() => new Promise((resolve) => setTimeout(() => resolve({}), 2.5 * MINUTE)))
      .resolves({});
    const reporter = start([captured(1), captured(2)]);
    await settle();

    // Act
    for (const step of [MINUTE, MINUTE, MINUTE, 30_000, 29_000]) {
      mock.timers.tick(step);
      await settle();
    }
    // Assess
    assert.equal(cloudWatch.commandCalls(PutMetricDataCommand).length, 1);
    mock.timers.tick(1000);
    await settle();
    assert.equal(cloudWatch.commandCalls(PutMetricDataCommand).length, 2);
    await reporter.stop();
  });

  it('stops reading once stopped', async () => {
    // Prepare
    const reporter = start([captured(1), captured(2)]);
    await settle();

    // Act
    await reporter.stop();
    mock.timers.tick(5 * MINUTE);
    await settle();

    // Assess
    assert.equal(cloudWatch.commandCalls(PutMetricDataCommand).length, 0);
  });
});
