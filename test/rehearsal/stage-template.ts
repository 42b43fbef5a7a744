// The web tier's numbers as the packaged template of a stage holds them: the rehearsal reads every setting it
// plays from here (never from resources/*.yml or a copy), so a change to the template changes the rehearsal.
import type { Template } from '../support/cloudformation/template';

/** A CloudWatch metric alarm of the template (only the fields CloudWatch's evaluation reads). */
export interface AlarmSpec {
  name: string;
  metric: 'CPUUtilization';
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison:
    | 'GreaterThanThreshold'
    | 'LessThanThreshold'
    | 'GreaterThanOrEqualToThreshold'
    | 'LessThanOrEqualToThreshold';
  /** `missing` when the template says nothing (CloudWatch's default). */
  treatMissingData: 'missing' | 'breaching' | 'notBreaching' | 'ignore';
  /** The scaling policy (logical id) the alarm invokes. */
  policy: string;
}

export interface StepPolicySpec {
  kind: 'step';
  id: string;
  warmupSeconds: number;
  steps: { lower: number | null; upper: number | null; adjustment: number }[];
}

export interface TargetTrackingPolicySpec {
  kind: 'target-tracking';
  id: string;
  metric: 'ASGAverageCPUUtilization' | 'ALBRequestCountPerTarget';
  target: number;
  warmupSeconds: number;
}

export type PolicySpec = StepPolicySpec | TargetTrackingPolicySpec;

export interface WebTierSpec {
  stage: string;
  instanceType: string;
  group: {
    name: string;
    min: number;
    max: number;
    /** No DesiredCapacity in the template: CloudFormation starts the group at MinSize. */
    desired: number;
    healthCheckType: string;
    healthCheckGraceSeconds: number;
    /** Between simple-scaling activities; step and target-tracking policies use the warm-up instead. */
    cooldownSeconds: number;
    defaultInstanceWarmupSeconds: number;
  };
  rollingUpdate: {
    minInstancesInService: number;
    maxBatchSize: number;
    pauseTimeSeconds: number;
    suspended: string[];
  };
  targetGroup: {
    path: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    matcher: string;
    deregistrationDelaySeconds: number;
  };
  alarms: AlarmSpec[];
  policies: PolicySpec[];
  /** What userdata/webserver.sh, inlined in the launch template, sets for the app. */
  app: {
    webProcesses: number;
    dbPoolMax: number;
    shutdownGraceMs: number;
    /** Seconds between webserver.sh's /health attempts before it signals CloudFormation. */
    healthPollSeconds: number;
    /** How long webserver.sh waits after /health answers before it signals (0 when the prelude has none). */
    targetHealthySeconds: number;
    /** systemd's TimeoutStopSec for cloudy-web. */
    stopTimeoutSeconds: number;
    /** The environment file's fixed lines (NODE_ENV, NODE_OPTIONS, ...), those that do not name AWS resources. */
    environment: Record<string, string>;
  };
}

type Props = Record<string, unknown>;

class TemplateShapeError extends Error {
  override name = 'TemplateShapeError';
}

function need<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null)
    throw new TemplateShapeError(`the packaged template has no ${what}`);
  return value;
}

function resourcesOfType(template: Template, type: string): [string, Props][] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, (r.Properties ?? {}) as Props]);
}

function refOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && 'Ref' in value
    ? String((value as { Ref: unknown }).Ref)
    : undefined;
}

/** The literal strings of the user data's Fn::Join (the prelude's constant exports and the inlined script). */
function userDataText(launchTemplateData: Props): string {
  const pieces: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') pieces.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value))
        if (key === 'Fn::Join' || key === 'Fn::Base64') walk(inner);
    }
  };
  walk(launchTemplateData.UserData);
  return pieces.join('');
}

function shellNumber(script: string, name: string): number {
  const match =
    new RegExp(`^${name}=(\\d+)`, 'm').exec(script) ??
    new RegExp(`^${name}=\\$\\(printenv ${name} \\|\\| echo (\\d+)\\)`, 'm').exec(script);
  return Number(need(match?.[1], `${name} in the web user data`));
}

export function readWebTier(template: Template, stage: string): WebTierSpec {
  const groups = resourcesOfType(template, 'AWS::AutoScaling::AutoScalingGroup').filter(
    ([id]) => id === 'WebAutoScalingGroup',
  );
  const [groupId, group] = need(groups[0], 'WebAutoScalingGroup');
  const groupResource = template.Resources[groupId];
  const rolling = need(
    (groupResource?.UpdatePolicy as { AutoScalingRollingUpdate?: Props } | undefined)
      ?.AutoScalingRollingUpdate,
    'rolling update policy on the web group',
  );
  const tg = need(template.Resources.WebTargetGroup?.Properties as Props | undefined, 'WebTargetGroup');
  const attributes = (tg.TargetGroupAttributes ?? []) as { Key: string; Value: string }[];
  const lt = need(
    (template.Resources.WebLaunchTemplate?.Properties as { LaunchTemplateData?: Props } | undefined)
      ?.LaunchTemplateData,
    'WebLaunchTemplate',
  );
  const userData = userDataText(lt);
  const exported = (name: string) =>
    Number(
      need(new RegExp(`export ${name}=(\\d+)\\n`).exec(userData)?.[1], `${name} in the user data prelude`),
    );
  const grace = shellNumber(userData, 'SHUTDOWN_GRACE_MS');
  const env: Record<string, string> = {};
  const envFile = need(
    /web\.env" 0600 <<ENV\n([\s\S]*?)\nENV/.exec(userData)?.[1],
    'web.env in the web user data',
  );
  for (const line of envFile.split('\n')) {
    const [key, ...rest] = line.split('=');
    const value = rest.join('=');
    if (key && !value.includes('$')) env[key] = value;
  }

  const policies: PolicySpec[] = resourcesOfType(template, 'AWS::AutoScaling::ScalingPolicy')
    .filter(([, p]) => refOf(p.AutoScalingGroupName) === groupId)
    .map(([id, p]): PolicySpec => {
      const warmupSeconds = Number(
        p.EstimatedInstanceWarmup ?? group.DefaultInstanceWarmup ?? group.Cooldown ?? 300,
      );
      if (p.PolicyType === 'TargetTrackingScaling') {
        const config = p.TargetTrackingConfiguration as Props;
        const metric = (config.PredefinedMetricSpecification as Props)
          .PredefinedMetricType as TargetTrackingPolicySpec['metric'];
        return { kind: 'target-tracking', id, metric, target: Number(config.TargetValue), warmupSeconds };
      }
      if (p.PolicyType !== 'StepScaling' || p.AdjustmentType !== 'ChangeInCapacity') {
        throw new TemplateShapeError(
          `scaling policy ${id}: the rehearsal plays StepScaling with ChangeInCapacity or TargetTrackingScaling`,
        );
      }
      const steps = (p.StepAdjustments as Props[]).map((s) => ({
        lower: s.MetricIntervalLowerBound === undefined ? null : Number(s.MetricIntervalLowerBound),
        upper: s.MetricIntervalUpperBound === undefined ? null : Number(s.MetricIntervalUpperBound),
        adjustment: Number(s.ScalingAdjustment),
      }));
      return { kind: 'step', id, warmupSeconds, steps };
    });
  const policyIds = new Set(policies.map((p) => p.id));
  const alarms: AlarmSpec[] = resourcesOfType(template, 'AWS::CloudWatch::Alarm')
    .filter(([, a]) =>
      ((a.AlarmActions ?? []) as unknown[]).some((action) => policyIds.has(refOf(action) ?? '')),
    )
    .map(([id, a]) => {
      if (a.Namespace !== 'AWS/EC2' || a.MetricName !== 'CPUUtilization' || a.Statistic !== 'Average') {
        throw new TemplateShapeError(
          `alarm ${id}: the rehearsal measures AWS/EC2 CPUUtilization Average only`,
        );
      }
      const evaluationPeriods = Number(a.EvaluationPeriods);
      return {
        name: typeof a.AlarmName === 'string' ? a.AlarmName : id,
        metric: 'CPUUtilization',
        periodSeconds: Number(a.Period),
        evaluationPeriods,
        datapointsToAlarm: Number(a.DatapointsToAlarm ?? evaluationPeriods),
        threshold: Number(a.Threshold),
        comparison: a.ComparisonOperator as AlarmSpec['comparison'],
        treatMissingData: (a.TreatMissingData ?? 'missing') as AlarmSpec['treatMissingData'],
        policy: need(
          ((a.AlarmActions ?? []) as unknown[]).map(refOf).find((r) => r && policyIds.has(r)),
          `policy of ${id}`,
        ),
      };
    });

  const min = Number(group.MinSize);
  return {
    stage,
    instanceType: String(lt.InstanceType),
    group: {
      name: String(group.AutoScalingGroupName),
      min,
      max: Number(group.MaxSize),
      desired: Number(group.DesiredCapacity ?? min),
      healthCheckType: String(group.HealthCheckType ?? 'EC2'),
      healthCheckGraceSeconds: Number(group.HealthCheckGracePeriod ?? 0),
      cooldownSeconds: Number(group.Cooldown ?? 300),
      defaultInstanceWarmupSeconds: Number(group.DefaultInstanceWarmup ?? group.Cooldown ?? 300),
    },
    rollingUpdate: {
      minInstancesInService: Number(rolling.MinInstancesInService ?? 0),
      maxBatchSize: Number(rolling.MaxBatchSize ?? 1),
      pauseTimeSeconds: isoSeconds(String(rolling.PauseTime ?? 'PT0S')),
      suspended: (rolling.SuspendProcesses ?? []) as string[],
    },
    targetGroup: {
      path: String(tg.HealthCheckPath),
      intervalSeconds: Number(tg.HealthCheckIntervalSeconds),
      timeoutSeconds: Number(tg.HealthCheckTimeoutSeconds),
      healthyThreshold: Number(tg.HealthyThresholdCount),
      unhealthyThreshold: Number(tg.UnhealthyThresholdCount),
      matcher: String((tg.Matcher as Props | undefined)?.HttpCode ?? '200'),
      // ELB's default when the attribute is absent: 300 s.
      deregistrationDelaySeconds: Number(
        attributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value ?? 300,
      ),
    },
    alarms,
    policies,
    app: {
      webProcesses: exported('WEB_PROCESSES'),
      dbPoolMax: exported('DB_POOL_MAX'),
      shutdownGraceMs: grace,
      healthPollSeconds: shellNumber(userData, 'HEALTH_INTERVAL_SECONDS'),
      targetHealthySeconds: Number(/export TARGET_HEALTHY_SECONDS=(\d+)\n/.exec(userData)?.[1] ?? 0),
      stopTimeoutSeconds: grace / 1000 + 10,
      environment: env,
    },
  };
}

function isoSeconds(duration: string): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(duration);
  if (!match)
    throw new TemplateShapeError(
      `PauseTime ${duration} is not an ISO 8601 duration of hours/minutes/seconds`,
    );
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}
