// Every timing the rehearsal plays, named, with where it comes from, in AWS seconds; the rehearsal divides each
// by the same compression factor. Nothing here is a free choice except the rehearsal's own resolution (tick,
// bucket), which is stated as such.
import type { WebTierSpec } from './stage-template';

export interface Timing {
  awsSeconds: number;
  source: string;
}

/** docs/DEPLOY.md, "Time budget of a first deploy", (c): "≥ 120 s until user data runs" on a new instance. */
export const BOOT_BEFORE_USER_DATA_SECONDS = 120;

/** The load-test report's period (artillery reports every 10 s): one point of every chart. */
export const REPORT_BUCKET_SECONDS = 10;

/** How often the rehearsal's Auto Scaling looks at its group (desired vs running, ELB health): its resolution. */
export const CONTROL_TICK_SECONDS = 1;

export function webTierTimings(spec: WebTierSpec): Record<string, Timing> {
  const alarmPeriod = spec.alarms[0]?.periodSeconds ?? 60;
  const warmup = spec.policies[0]?.warmupSeconds ?? spec.group.defaultInstanceWarmupSeconds;
  return {
    bootBeforeUserData: {
      awsSeconds: BOOT_BEFORE_USER_DATA_SECONDS,
      source: 'docs/DEPLOY.md time budget (c): at least 120 s until user data runs',
    },
    signalPoll: {
      awsSeconds: spec.app.healthPollSeconds,
      source:
        'webserver.sh in the launch template: HEALTH_INTERVAL_SECONDS between /health attempts before cfn-signal',
    },
    healthCheckInterval: {
      awsSeconds: spec.targetGroup.intervalSeconds,
      source: 'WebTargetGroup HealthCheckIntervalSeconds',
    },
    healthCheckTimeout: {
      awsSeconds: spec.targetGroup.timeoutSeconds,
      source: 'WebTargetGroup HealthCheckTimeoutSeconds',
    },
    deregistrationDelay: {
      awsSeconds: spec.targetGroup.deregistrationDelaySeconds,
      source: 'WebTargetGroup deregistration_delay.timeout_seconds',
    },
    healthCheckGrace: {
      awsSeconds: spec.group.healthCheckGraceSeconds,
      source: 'WebAutoScalingGroup HealthCheckGracePeriod',
    },
    instanceWarmup: {
      awsSeconds: warmup,
      source: 'scaling policy EstimatedInstanceWarmup (else the group DefaultInstanceWarmup)',
    },
    cooldown: {
      awsSeconds: spec.group.cooldownSeconds,
      source:
        'WebAutoScalingGroup Cooldown: simple scaling only, recorded and not applied to step/target tracking',
    },
    alarmPeriod: {
      awsSeconds: alarmPeriod,
      source: 'the scaling alarms Period (AWS/EC2 detailed monitoring, 1 minute)',
    },
    shutdownGrace: {
      awsSeconds: spec.app.shutdownGraceMs / 1000,
      source: 'webserver.sh in the launch template: SHUTDOWN_GRACE_MS (the app drains in-flight requests)',
    },
    stopTimeout: {
      awsSeconds: spec.app.stopTimeoutSeconds,
      source: 'webserver.sh: cloudy-web TimeoutStopSec',
    },
    rollingPauseTime: {
      awsSeconds: spec.rollingUpdate.pauseTimeSeconds,
      source:
        'UpdatePolicy AutoScalingRollingUpdate PauseTime: the bound on waiting for a new instance signal',
    },
    reportBucket: { awsSeconds: REPORT_BUCKET_SECONDS, source: "the load-test report's 10-second period" },
    controlTick: {
      awsSeconds: CONTROL_TICK_SECONDS,
      source: "the rehearsal's own resolution (not an AWS timing)",
    },
  };
}

/** Milliseconds of rehearsal for `awsSeconds` of AWS time, at compression `factor`. */
export function compressed(awsSeconds: number, factor: number): number {
  return (awsSeconds * 1000) / factor;
}
