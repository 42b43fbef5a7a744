import type { Dimension, MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { CpuUsage } from './cpu-times';
import type { MemoryUsage } from './memory-info';

export interface InstanceIdentity {
  instanceId: string;
  /** Absent when the instance is not in an Auto Scaling group (or its tags are not visible). */
  autoScalingGroupName?: string;
}

export interface Readings {
  /** Undefined for the first interval or one without elapsed CPU time. */
  cpu: CpuUsage | undefined;
  memory: MemoryUsage;
}

/** The names the dashboards and alarms use; CloudWatch treats each name + dimension set as its own metric. */
const METRIC_NAMES = {
  cpu: 'CPUUtilization',
  ioWait: 'IOWait',
  memory: 'MemoryUtilization',
} as const;

/**
 * One datum per metric and dimension set. CloudWatch does not aggregate custom metrics across dimensions,
 * so each value is sent twice: per instance (InstanceId + AutoScalingGroupName) and per group
 * (AutoScalingGroupName alone), the series an alarm or dashboard for the whole tier reads.
 */
export function toMetricData(readings: Readings, identity: InstanceIdentity, timestamp: Date): MetricDatum[] {
  const values: Array<[string, number]> = [[METRIC_NAMES.memory, readings.memory.utilizationPercent]];
  if (readings.cpu) {
    values.unshift(
      [METRIC_NAMES.cpu, readings.cpu.utilizationPercent],
      [METRIC_NAMES.ioWait, readings.cpu.ioWaitPercent],
    );
  }
  return values.flatMap(([name, value]) =>
    dimensionSets(identity).map((dimensions) => ({
      MetricName: name,
      Dimensions: dimensions,
      Value: value,
      Unit: 'Percent',
      Timestamp: timestamp,
      StorageResolution: 60,
    })),
  );
}

function dimensionSets({ instanceId, autoScalingGroupName }: InstanceIdentity): Dimension[][] {
  const instance = { Name: 'InstanceId', Value: instanceId };
  if (!autoScalingGroupName) return [[instance]];
  const group = { Name: 'AutoScalingGroupName', Value: autoScalingGroupName };
  return [[instance, group], [group]];
}
