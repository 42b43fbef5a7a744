import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toMetricData } from '../../../ec2/metrics/metric-data';

const memory = { totalBytes: 1000, availableBytes: 250, utilizationPercent: 75 };
const at = new Date('2026-11-26T12:00:00Z');

describe('toMetricData', () => {
  it('sends each metric per instance and per Auto Scaling group', () => {
    // Prepare
    const data = toMetricData(
      { cpu: { utilizationPercent: 61.5, ioWaitPercent: 2.25 }, memory },
      { instanceId: 'i-0abc', autoScalingGroupName: 'cloudy-dev-web' },
      at,
    );

    // Act
    const summary = data.map((datum) => [
      datum.MetricName,
      datum.Value,
      datum.Dimensions?.map((dimension) => `${dimension.Name}=${dimension.Value}`).join(','),
    ]);
    // Assess
    assert.deepEqual(summary, [
      ['CPUUtilization', 61.5, 'InstanceId=i-0abc,AutoScalingGroupName=cloudy-dev-web'],
      ['CPUUtilization', 61.5, 'AutoScalingGroupName=cloudy-dev-web'],
      ['IOWait', 2.25, 'InstanceId=i-0abc,AutoScalingGroupName=cloudy-dev-web'],
      ['IOWait', 2.25, 'AutoScalingGroupName=cloudy-dev-web'],
      ['MemoryUtilization', 75, 'InstanceId=i-0abc,AutoScalingGroupName=cloudy-dev-web'],
      ['MemoryUtilization', 75, 'AutoScalingGroupName=cloudy-dev-web'],
    ]);
    assert.ok(data.every((datum) => datum.Unit === 'Percent' && datum.Timestamp === at));
  });

  it('sends only memory when the interval gave no CPU reading', () => {
    // Act
    const data = toMetricData({ cpu: undefined, memory }, { instanceId: 'i-0abc' }, at);

    // Assess
    assert.deepEqual(
      data.map((datum) => [datum.MetricName, datum.Dimensions]),
      [['MemoryUtilization', [{ Name: 'InstanceId', Value: 'i-0abc' }]]],
    );
  });
});
