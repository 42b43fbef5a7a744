// CloudWatch as the scaling alarms see it: one datapoint per period (the group's Average CPUUtilization, or a
// load balancer metric) and the alarm evaluation over the last N periods. Pure: the rehearsal feeds datapoints in.
//
// Sources (AWS documentation):
// - "Except for Auto Scaling actions, the actions happen only on state transitions": an alarm in ALARM invokes its
//   scaling policy again at every evaluation (AmazonCloudWatch/latest/monitoring/alarm-actions.html).
// - M out of N: the alarm goes to ALARM when at least DatapointsToAlarm (M) of the last EvaluationPeriods (N)
//   datapoints breach; DatapointsToAlarm defaults to EvaluationPeriods (AlarmThatSendsEmail.html, "Evaluating an
//   alarm").
// - TreatMissingData `missing` (the default): missing periods are not counted either way; when every period of the
//   evaluation range is missing the alarm goes to INSUFFICIENT_DATA (AlarmThatSendsEmail.html, "Configuring how
//   CloudWatch alarms treat missing data").
import type { AlarmSpec } from './stage-template';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmRule {
  name: string;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: AlarmSpec['comparison'];
  treatMissingData: AlarmSpec['treatMissingData'];
}

function breaches(rule: AlarmRule, value: number): boolean {
  switch (rule.comparison) {
    case 'GreaterThanThreshold':
      return value > rule.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= rule.threshold;
    case 'LessThanThreshold':
      return value < rule.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= rule.threshold;
  }
}

/**
 * The alarm's state after the newest datapoint. `datapoints` are the periods in order, newest last, `null` where
 * the period had no data. `previous` is kept under `ignore` (missing data leaves the state as it was).
 */
export function evaluateAlarm(
  rule: AlarmRule,
  datapoints: (number | null)[],
  previous: AlarmState,
): AlarmState {
  const range = datapoints.slice(-rule.evaluationPeriods);
  let breaching = 0;
  let present = 0;
  for (const value of range) {
    if (value === null) {
      if (rule.treatMissingData === 'breaching') breaching++;
      if (rule.treatMissingData === 'breaching' || rule.treatMissingData === 'notBreaching') present++;
      continue;
    }
    present++;
    if (breaches(rule, value)) breaching++;
  }
  if (present === 0) return rule.treatMissingData === 'ignore' ? previous : 'INSUFFICIENT_DATA';
  if (breaching >= rule.datapointsToAlarm) return 'ALARM';
  // Fewer datapoints than M in the range cannot decide ALARM; with `missing`, CloudWatch then keeps OK.
  return 'OK';
}

/**
 * The two alarms Auto Scaling creates for a target-tracking policy (named TargetTracking-<group>-AlarmHigh/-AlarmLow
 * in the console): above the target for 3 consecutive one-minute datapoints, below 90 % of it for 15. AWS does not
 * document their numbers ("scales out proportionally as fast as it can, but scales in more gradually",
 * autoscaling/ec2/userguide/as-scaling-target-tracking.html); these are what DescribeAlarms shows for such a policy.
 */
export const TARGET_TRACKING_ALARMS = {
  high: { evaluationPeriods: 3, datapointsToAlarm: 3, factor: 1 },
  low: { evaluationPeriods: 15, datapointsToAlarm: 15, factor: 0.9 },
} as const;

export function targetTrackingRules(name: string, target: number): { high: AlarmRule; low: AlarmRule } {
  const { high, low } = TARGET_TRACKING_ALARMS;
  return {
    high: {
      name: `TargetTracking-${name}-AlarmHigh`,
      evaluationPeriods: high.evaluationPeriods,
      datapointsToAlarm: high.datapointsToAlarm,
      threshold: target * high.factor,
      comparison: 'GreaterThanThreshold',
      treatMissingData: 'missing',
    },
    low: {
      name: `TargetTracking-${name}-AlarmLow`,
      evaluationPeriods: low.evaluationPeriods,
      datapointsToAlarm: low.datapointsToAlarm,
      threshold: target * low.factor,
      comparison: 'LessThanThreshold',
      treatMissingData: 'missing',
    },
  };
}

/** The group's Average CPUUtilization for one period: the mean of its instances' datapoints (null: none). */
export function groupAverage(instanceValues: number[]): number | null {
  if (instanceValues.length === 0) return null;
  return instanceValues.reduce((a, b) => a + b, 0) / instanceValues.length;
}
