import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { metricsPublisher } from '../../../ec2/metrics/metrics-publisher';
import { createLogger } from '../../../shared/logger';

const cloudWatch = mockClient(CloudWatchClient);
const logger = createLogger('test', 'silent');

// Errors as the SDK raises them: a name and the HTTP status in $metadata.
const sdkError = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
const throttled = () => sdkError('Throttling', 400);
const accessDenied = () => sdkError('AccessDenied', 403);

const data = (count: number, name = 'CPUUtilization'): MetricDatum[] =>
  Array.from({ length: count }, (_, index) => ({ MetricName: name, Value: index, Unit: 'Percent' }));

const publisher = (maxBuffered?: number) =>
  metricsPublisher({
    client: new CloudWatchClient({}),
    namespace: 'Cloudy/dev',
    logger,
    ...(maxBuffered ? { maxBuffered } : {}),
  });

const sentBatches = () =>
  cloudWatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input.MetricData ?? []);

describe('metricsPublisher', () => {
  beforeEach(() => {
    cloudWatch.reset();
  });

  it('sends everything buffered to the namespace in batches of at most 1000', async () => {
    // Prepare
    cloudWatch.on(PutMetricDataCommand).resolves({});
    const metrics = publisher(5000);
    metrics.enqueue(data(2500));

    // Act
    const result = await metrics.flush();

    // Assess
    assert.deepEqual(result, { sent: 2500, kept: 0, dropped: 0 });
    assert.deepEqual(
      sentBatches().map((batch) => batch.length),
      [1000, 1000, 500],
    );
    assert.ok(
      cloudWatch
        .commandCalls(PutMetricDataCommand)
        .every((call) => call.args[0].input.Namespace === 'Cloudy/dev'),
    );
    assert.equal(metrics.buffered(), 0);
  });

  it('keeps throttled data and sends it with the next flush', async () => {
    // Prepare
    cloudWatch.on(PutMetricDataCommand).rejectsOnce(throttled()).resolves({});
    const metrics = publisher();
    metrics.enqueue(data(6, 'first'));

    // Act
    const first = await metrics.flush();
    metrics.enqueue(data(6, 'second'));
    const second = await metrics.flush();

    // Assess
    assert.deepEqual(first, { sent: 0, kept: 6, dropped: 0 });
    assert.deepEqual(second, { sent: 12, kept: 0, dropped: 0 });
    assert.deepEqual(
      sentBatches()[1]?.map((datum) => datum.MetricName),
      [...Array(6).fill('first'), ...Array(6).fill('second')],
    );
  });

  it('drops data CloudWatch refuses for good instead of retrying it forever', async () => {
    // Prepare
    cloudWatch.on(PutMetricDataCommand).rejectsOnce(accessDenied()).resolves({});
    const metrics = publisher();
    metrics.enqueue(data(6));

    // Act
    const result = await metrics.flush();

    // Assess
    assert.deepEqual(result, { sent: 0, kept: 0, dropped: 6 });
    assert.equal(metrics.buffered(), 0);
  });

  it('never throws, whatever the client does', async () => {
    // Prepare
    cloudWatch.on(PutMetricDataCommand).rejects(new TypeError('socket hang up'));
    const metrics = publisher();
    metrics.enqueue(data(3));

    // Act
    const result = await metrics.flush();

    // Assess
    assert.deepEqual(result, { sent: 0, kept: 3, dropped: 0 });
  });

  it('bounds the buffer through a long outage by dropping the oldest data', async () => {
    // Act
    cloudWatch.on(PutMetricDataCommand).rejects(throttled());
    const metrics = publisher(10);
    metrics.enqueue(data(8, 'old'));
    await metrics.flush();
    metrics.enqueue(data(8, 'new'));

    // Assess
    assert.equal(metrics.buffered(), 10);
    cloudWatch.reset();
    cloudWatch.on(PutMetricDataCommand).resolves({});
    await metrics.flush();
    assert.deepEqual(
      sentBatches()[0]?.map((datum) => datum.MetricName),
      [...Array(2).fill('old'), ...Array(8).fill('new')],
    );
  });
});
