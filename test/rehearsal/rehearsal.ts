// The web tier of one stage, played on 127.0.0.1 in compressed time: real web instances (instances.ts) behind
// the load balancer (load-balancer.ts), their CPU aggregated per period as CloudWatch does and the template's
// alarms evaluated (cloudwatch.ts), Auto Scaling carrying out the template's policies (auto-scaling.ts), and
// faults: an instance killed, a rolling replacement of the whole group. Everything it saw goes into a timeline.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/local-postgres';
import {
  applyStep,
  type Capacity,
  chooseForTermination,
  chooseZone,
  stepAdjustment,
  targetTrackingDesired,
} from './auto-scaling';
import {
  type AlarmRule,
  type AlarmState,
  evaluateAlarm,
  groupAverage,
  targetTrackingRules,
} from './cloudwatch';
import { type InstanceSettings, WebInstance } from './instances';
import { type RequestRecord, startLoadBalancer, type TargetHealth } from './load-balancer';
import type { PolicySpec, WebTierSpec } from './stage-template';
import {
  BOOT_BEFORE_USER_DATA_SECONDS,
  CONTROL_TICK_SECONDS,
  compressed,
  REPORT_BUCKET_SECONDS,
} from './timings';

/** An instance type's vCPUs and the CPU credits it earns (t3: aws.amazon.com/ec2/instance-types/t3, baseline). */
export const INSTANCE_TYPES: Record<string, { vcpus: number; baselinePercent: number }> = {
  't3.nano': { vcpus: 2, baselinePercent: 5 },
  't3.micro': { vcpus: 2, baselinePercent: 10 },
  't3.small': { vcpus: 2, baselinePercent: 20 },
  't3.medium': { vcpus: 2, baselinePercent: 20 },
  't3.large': { vcpus: 2, baselinePercent: 30 },
};

export type Fault = { kind: 'kill'; atAwsSeconds: number } | { kind: 'roll'; atAwsSeconds: number };

export interface RehearsalEvent {
  /** AWS seconds since the start of the load. */
  t: number;
  kind: string;
  text: string;
  instance?: string;
}

export interface Bucket {
  t: number;
  requests: number;
  p50: number | null;
  p99: number | null;
  codes: Record<string, number>;
  cpu: Record<string, number>;
  averageCpu: number | null;
  desired: number;
  inService: number;
  healthyTargets: number;
  alarms: Record<string, AlarmState>;
}

export interface PeriodPoint {
  t: number;
  metric: number | null;
  requestsPerTarget: number | null;
  alarms: Record<string, AlarmState>;
}

export interface Timeline {
  factor: number;
  vcpuShare: number;
  /** Host CPU-seconds of one scale-up /load request, measured on an idle instance before the load. */
  hostRequestSeconds: number;
  /** The scenario's rates are multiplied by this (vcpuShare × reference cost / host cost). */
  rateScale: number;
  instanceType: string;
  quotaCores: number;
  policy: string;
  thresholds: { name: string; value: number }[];
  events: RehearsalEvent[];
  buckets: Bucket[];
  periods: PeriodPoint[];
  requests: RequestRecord[];
  /** Instance-seconds of AWS time, and CPU credits spent above the baseline (vCPU-minutes). */
  usage: { instanceSeconds: number; surplusVcpuMinutes: number };
  /** The smallest count during each rolling replacement: ASG in service and healthy ALB targets. */
  rolling: { fromT: number; toT: number; minInService: number; minHealthy: number }[];
}

type Lifecycle = 'InService' | 'Terminating' | 'Terminated';

interface Member {
  instance: WebInstance;
  zone: string;
  launchedAt: number;
  state: Lifecycle;
  appStartedAt?: number;
  /** webserver.sh's local /health check passed. */
  appReadyAt?: number;
  signalledAt?: number;
  old: boolean;
  cpuNsAtBucket: number;
  cpuNsAtPeriod: number;
  timers: NodeJS.Timeout[];
}

export interface RehearsalOptions {
  spec: WebTierSpec;
  factor: number;
  /** Host cores per vCPU of the instance type. */
  vcpuShare: number;
  bundleDir: string;
  databaseUrl: string;
  logDir: string;
  cgroupParent: string;
  faults: Fault[];
  /**
   * Runs the load against the load balancer's URL with the scenario's rates multiplied by `rateScale`; the
   * rehearsal ends `tailAwsSeconds` after it returns.
   */
  load: (url: string, rateScale: number) => Promise<void>;
  /** vCPU-seconds one scale-up /load request costs on the instance type (the docs' figure). */
  referenceRequestSeconds: number;
  tailAwsSeconds: number;
  say: (line: string) => void;
}

const ZONES = ['a', 'b'];

export async function rehearse(options: RehearsalOptions): Promise<Timeline> {
  const { spec, factor, say } = options;
  const type = INSTANCE_TYPES[spec.instanceType];
  if (!type)
    throw new Error(
      `instance type ${spec.instanceType}: the rehearsal knows ${Object.keys(INSTANCE_TYPES).join(', ')}`,
    );
  const quotaCores = type.vcpus * options.vcpuShare;
  const ms = (awsSeconds: number) => compressed(awsSeconds, factor);
  const periodAws = spec.alarms[0]?.periodSeconds ?? 60;
  const warmupAws = spec.policies[0]?.warmupSeconds ?? spec.group.defaultInstanceWarmupSeconds;

  let origin = performance.now();
  const awsNow = () => ((performance.now() - origin) * factor) / 1000;
  const events: RehearsalEvent[] = [];
  const event = (kind: string, text: string, instance?: string) => {
    const e = { t: Math.round(awsNow()), kind, text, ...(instance ? { instance } : {}) };
    events.push(e);
    say(`${formatClock(e.t)}  ${kind.padEnd(10)} ${instance ? `${instance} ` : ''}${text}`);
  };

  const members = new Map<string, Member>();
  let desired = spec.group.desired;
  let suspended = false;
  let sequence = 0;
  let stopping = false;

  const lb = await startLoadBalancer({
    health: {
      path: spec.targetGroup.path,
      intervalMs: ms(spec.targetGroup.intervalSeconds),
      timeoutMs: ms(spec.targetGroup.timeoutSeconds),
      healthyThreshold: spec.targetGroup.healthyThreshold,
      unhealthyThreshold: spec.targetGroup.unhealthyThreshold,
      matcher: Number(spec.targetGroup.matcher),
    },
    now: () => awsNow() * 1000,
    onHealthChange: (id, from, to) => {
      if (from !== to) event('target', `${from} → ${to}`, id);
    },
  });

  const settings: InstanceSettings = {
    bundleDir: options.bundleDir,
    databaseUrl: options.databaseUrl,
    cpuQuotaCores: quotaCores,
    logDir: options.logDir,
    cgroupParent: options.cgroupParent,
    environment: {
      ...spec.app.environment,
      WEB_PROCESSES: String(spec.app.webProcesses),
      DB_POOL_MAX: String(spec.app.dbPoolMax),
      // On the instance the default, one thread per core: the type's vCPUs (node here sees the host's cores).
      LOAD_THREADS: String(type.vcpus),
      SHUTDOWN_GRACE_MS: String(Math.round(ms(spec.app.shutdownGraceMs / 1000))),
      LOG_LEVEL: 'warn',
    },
  };

  const alive = () => [...members.values()].filter((m) => m.state === 'InService');
  const warmingAt = (m: Member, t: number) => t - m.launchedAt < warmupAws;

  const launch = async (reason: string, bootAwsSeconds = BOOT_BEFORE_USER_DATA_SECONDS) => {
    sequence += 1;
    const id = `i-${String(sequence).padStart(3, '0')}`;
    const zone = chooseZone(
      ZONES,
      alive().map((m) => ({ id: m.instance.id, zone: m.zone, launchedAt: m.launchedAt })),
    );
    const instance = new WebInstance(id, await freePort(), settings);
    const member: Member = {
      instance,
      zone,
      launchedAt: awsNow(),
      state: 'InService',
      old: false,
      cpuNsAtBucket: 0,
      cpuNsAtPeriod: 0,
      timers: [],
    };
    members.set(id, member);
    event('launch', `${reason} (zone ${zone}); user data runs in ${bootAwsSeconds} s`, id);
    lb.register(id, instance.port);
    member.timers.push(
      setTimeout(() => {
        if (member.state !== 'InService') return;
        // The app's own start is seconds of real CPU work that compression cannot shrink (at 10× they would
        // weigh as a minute of a busy instance, which AWS never sees): it runs without the quota and stays out of
        // the CloudWatch average until webserver.sh would signal.
        instance.limitCpu(null);
        instance.start();
        member.appStartedAt = awsNow();
        event('boot', 'user data: cloudy-web started', id);
        const poll = setInterval(() => {
          if (member.state !== 'InService' || member.appReadyAt !== undefined) return clearInterval(poll);
          healthy(instance.port).then((ok) => {
            if (!ok || member.appReadyAt !== undefined || member.state !== 'InService') return;
            member.appReadyAt = awsNow();
            instance.limitCpu(quotaCores);
            clearInterval(poll);
            const wait = spec.app.targetHealthySeconds;
            if (wait > 0)
              event('ready', `/health answers; webserver.sh waits ${wait} s before cfn-signal`, id);
            member.timers.push(
              setTimeout(() => {
                if (member.state !== 'InService') return;
                member.signalledAt = awsNow();
                event('signal', 'webserver.sh: cfn-signal success', id);
              }, ms(wait)),
            );
          });
        }, ms(spec.app.healthPollSeconds));
        member.timers.push(poll);
      }, ms(bootAwsSeconds)),
    );
    return member;
  };

  const terminate = async (member: Member, reason: string) => {
    if (member.state !== 'InService') return;
    member.state = 'Terminating';
    event(
      'terminate',
      `${reason}: deregistering (delay ${spec.targetGroup.deregistrationDelaySeconds} s)`,
      member.instance.id,
    );
    const { abortedRequests } = await lb.deregister(
      member.instance.id,
      ms(spec.targetGroup.deregistrationDelaySeconds),
    );
    event(
      'drained',
      abortedRequests > 0
        ? `${abortedRequests} in-flight requests cut at the delay's end`
        : 'no request in flight',
      member.instance.id,
    );
    for (const timer of member.timers) clearTimeout(timer);
    await member.instance.stop(ms(spec.app.stopTimeoutSeconds));
    member.state = 'Terminated';
    event('terminated', 'instance gone', member.instance.id);
  };

  const capacity = (): Capacity => {
    const t = awsNow();
    const inService = alive();
    return {
      min: spec.group.min,
      max: spec.group.max,
      desired,
      warm: inService.filter((m) => !warmingAt(m, t)).length,
      warming: inService.filter((m) => warmingAt(m, t)).length,
    };
  };

  const setDesired = (value: number, why: string) => {
    if (value === desired) return;
    event('desired', `${desired} → ${value} (${why})`);
    desired = value;
  };

  // Auto Scaling's group loop: replace unhealthy instances, bring the count to the desired capacity.
  let controlling = false;
  const control = async () => {
    if (stopping || controlling) return;
    controlling = true;
    try {
      await reconcile();
    } finally {
      controlling = false;
    }
  };
  const reconcile = async () => {
    const t = awsNow();
    if (!suspended && spec.group.healthCheckType === 'ELB') {
      for (const m of alive()) {
        if (
          t - m.launchedAt >= spec.group.healthCheckGraceSeconds &&
          lb.health(m.instance.id) === 'unhealthy'
        ) {
          event('unhealthy', 'ELB health check failed: Auto Scaling replaces it', m.instance.id);
          void terminate(m, 'unhealthy');
        }
      }
    }
    const running = alive();
    if (running.length < desired) {
      for (let i = running.length; i < desired; i++) await launch(`desired ${desired}`);
    } else if (running.length > desired && !suspended) {
      const victim = chooseForTermination(
        running.map((m) => ({ id: m.instance.id, zone: m.zone, launchedAt: m.launchedAt })),
      );
      const member = victim && members.get(victim.id);
      if (member) void terminate(member, `scale-in to ${desired}`);
    }
  };

  // Scaling alarms and policies.
  const policies = new Map(spec.policies.map((p) => [p.id, p]));
  const targetTracking = spec.policies.find(
    (p): p is Extract<PolicySpec, { kind: 'target-tracking' }> => p.kind === 'target-tracking',
  );
  const rules: { rule: AlarmRule; policy: string; direction: 'out' | 'in' }[] = targetTracking
    ? (() => {
        const { high, low } = targetTrackingRules(spec.group.name, targetTracking.target);
        return [
          { rule: high, policy: targetTracking.id, direction: 'out' as const },
          { rule: low, policy: targetTracking.id, direction: 'in' as const },
        ];
      })()
    : spec.alarms.map((a) => ({
        rule: {
          name: a.name,
          evaluationPeriods: a.evaluationPeriods,
          datapointsToAlarm: a.datapointsToAlarm,
          threshold: a.threshold,
          comparison: a.comparison,
          treatMissingData: a.treatMissingData,
        },
        policy: a.policy,
        direction: a.comparison.startsWith('Greater') ? ('out' as const) : ('in' as const),
      }));
  const alarmStates: Record<string, AlarmState> = Object.fromEntries(
    rules.map((r) => [r.rule.name, 'INSUFFICIENT_DATA']),
  );
  const datapoints: (number | null)[] = [];
  const periods: PeriodPoint[] = [];
  let periodRequests = 0;
  let rateScale = options.vcpuShare;
  let periodStartReal = performance.now();

  const cpuPercent = (ns: number, realMs: number) => (ns / (realMs * 1e6 * quotaCores)) * 100;

  const evaluatePeriod = () => {
    const nowReal = performance.now();
    const realMs = nowReal - periodStartReal;
    periodStartReal = nowReal;
    const values: number[] = [];
    for (const m of members.values()) {
      if (m.state === 'Terminated') continue;
      const ns = m.instance.cpuUsageNs();
      const starting = m.appStartedAt !== undefined && m.appReadyAt === undefined;
      if (!starting) values.push(Math.min(100, cpuPercent(ns - m.cpuNsAtPeriod, realMs)));
      m.cpuNsAtPeriod = ns;
    }
    const average = groupAverage(values);
    const healthyCount = lb.targets().filter((x) => x.health === 'healthy').length;
    // In AWS units: requests per target per period of AWS time. The rehearsal's period lasts 1/factor of it and
    // its load is the scenario's × rateScale per second.
    const requestsPerTarget = healthyCount > 0 ? (periodRequests * factor) / rateScale / healthyCount : null;
    periodRequests = 0;
    const metric = targetTracking?.metric === 'ALBRequestCountPerTarget' ? requestsPerTarget : average;
    datapoints.push(metric);
    for (const { rule, policy, direction } of rules) {
      const before = alarmStates[rule.name] as AlarmState;
      const after = evaluateAlarm(rule, datapoints, before);
      alarmStates[rule.name] = after;
      if (after !== before)
        event(
          'alarm',
          `${rule.name}: ${before} → ${after} (${metric === null ? 'no data' : metric.toFixed(1)})`,
        );
      if (after !== 'ALARM' || metric === null) continue;
      // Auto Scaling actions repeat at every evaluation while the alarm stays in ALARM.
      if (suspended) {
        event('suspended', `${rule.name} in ALARM: AlarmNotification suspended by the rolling update`);
        continue;
      }
      const spec = policies.get(policy);
      if (!spec) continue;
      const decision =
        spec.kind === 'step'
          ? (() => {
              const adjustment = stepAdjustment(spec, metric, rule.threshold);
              return adjustment === null ? null : applyStep(capacity(), adjustment);
            })()
          : targetTrackingDesired(capacity(), metric, spec.target, direction);
      if (decision) {
        event('policy', `${policy}: ${decision.reason}`);
        setDesired(decision.desired, policy);
      }
    }
    periods.push({ t: Math.round(awsNow()), metric: average, requestsPerTarget, alarms: { ...alarmStates } });
  };

  // Report buckets.
  const buckets: Bucket[] = [];
  const requests: RequestRecord[] = [];
  let bucketStartReal = performance.now();
  let instanceSeconds = 0;
  let surplusVcpuMinutes = 0;
  const collectBucket = () => {
    const nowReal = performance.now();
    const realMs = nowReal - bucketStartReal;
    bucketStartReal = nowReal;
    const log = lb.takeLog();
    requests.push(...log);
    periodRequests += log.length;
    const latencies = log.map((r) => r.ms).sort((a, b) => a - b);
    const codes: Record<string, number> = {};
    for (const r of log) codes[r.status] = (codes[r.status] ?? 0) + 1;
    const cpu: Record<string, number> = {};
    for (const m of members.values()) {
      const ns = m.instance.cpuUsageNs();
      if (m.state === 'Terminated' && ns === m.cpuNsAtBucket) continue;
      const percent = Math.min(100, cpuPercent(ns - m.cpuNsAtBucket, realMs));
      cpu[m.instance.id] = Math.round(percent * 10) / 10;
      m.cpuNsAtBucket = ns;
      const bucketAws = (realMs * factor) / 1000;
      instanceSeconds += bucketAws;
      surplusVcpuMinutes +=
        (Math.max(0, percent - type.baselinePercent) / 100) * type.vcpus * (bucketAws / 60);
    }
    const values = Object.values(cpu);
    buckets.push({
      t: Math.round(awsNow()),
      // At AWS scale: the rehearsal's load is the scenario's rate × the share.
      requests: Math.round((log.length / (realMs / 1000) / rateScale) * 10) / 10,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      codes,
      cpu,
      averageCpu: values.length
        ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10
        : null,
      desired,
      inService: alive().length,
      healthyTargets: lb.targets().filter((x) => x.health === 'healthy').length,
      alarms: { ...alarmStates },
    });
  };

  const rolling: Timeline['rolling'] = [];
  const rollingUpdate = async () => {
    const { minInstancesInService, maxBatchSize } = spec.rollingUpdate;
    suspended = spec.rollingUpdate.suspended.includes('AlarmNotification');
    const from = awsNow();
    let minInService = Number.POSITIVE_INFINITY;
    let minHealthy = Number.POSITIVE_INFINITY;
    const watch = setInterval(() => {
      minInService = Math.min(
        minInService,
        alive().filter((m) => m.old || m.signalledAt !== undefined).length,
      );
      minHealthy = Math.min(minHealthy, lb.targets().filter((x) => x.health === 'healthy').length);
    }, ms(CONTROL_TICK_SECONDS));
    event(
      'update',
      `rolling replacement of ${alive().length} instances: batch ${maxBatchSize}, at least ${minInstancesInService} in service`,
    );
    for (const m of alive()) m.old = true;
    const waitSignal = async (member: Member) => {
      const deadline = awsNow() + spec.rollingUpdate.pauseTimeSeconds;
      while (member.signalledAt === undefined && awsNow() < deadline && !stopping)
        await sleep(ms(CONTROL_TICK_SECONDS));
    };
    while (!stopping) {
      const old = alive().filter((m) => m.old);
      if (old.length === 0) break;
      const inService = alive().filter((m) => m.old || m.signalledAt !== undefined).length;
      const victim = members.get(
        chooseForTermination(old.map((m) => ({ id: m.instance.id, zone: m.zone, launchedAt: m.launchedAt })))
          ?.id ?? '',
      ) as Member;
      const fresh = async () => {
        // The control loop launches the instance that brings the group back to its desired capacity.
        for (;;) {
          const member = alive().find((m) => !m.old && m.signalledAt === undefined);
          if (member || stopping) return member;
          await sleep(ms(CONTROL_TICK_SECONDS));
        }
      };
      if (inService - 1 >= minInstancesInService) {
        await terminate(victim, 'rolling update');
        const member = await fresh();
        if (member) await waitSignal(member);
      } else {
        // Replacing first would leave fewer than the minimum in service: one more instance first.
        setDesired(desired + 1, 'rolling update: the new instance before the old one goes');
        const member = await fresh();
        if (member) await waitSignal(member);
        const gone = terminate(victim, 'rolling update');
        setDesired(desired - 1, 'rolling update: the old instance out');
        await gone;
      }
    }
    clearInterval(watch);
    suspended = false;
    rolling.push({ fromT: Math.round(from), toT: Math.round(awsNow()), minInService, minHealthy });
    event(
      'update',
      `rolling replacement done: at least ${minInService} in service, ${minHealthy} healthy targets throughout`,
    );
  };

  // Start: the group at its desired capacity, every instance healthy behind the load balancer (a deployed stage).
  say(
    `group ${spec.group.name}: ${desired} × ${spec.instanceType} (${quotaCores} host cores each), ${factor}× compressed`,
  );
  const timers: NodeJS.Timeout[] = [];
  let hostRequestSeconds = options.referenceRequestSeconds;
  const faultTasks: Promise<void>[] = [];
  try {
    // The deployed stack's instances: their boot is not part of the rehearsal.
    for (let i = 0; i < desired; i++) await launch('stack creation', 0);
    const readyBy = performance.now() + ms(spec.group.healthCheckGraceSeconds) + 60_000;
    while (lb.targets().filter((x) => x.health === 'healthy').length < desired) {
      if (performance.now() > readyBy)
        throw new Error(
          `the group never became healthy: see the instance logs in ${options.logDir} (KEEP_REHEARSAL_FILES=1 keeps them)`,
        );
      await sleep(100);
    }
    hostRequestSeconds = await calibrate([...members.values()][0]?.instance as WebInstance);
    // The same CPU per instance as on AWS: the instance is `vcpuShare` of a vCPU per vCPU, and a request costs
    // hostRequestSeconds here against referenceRequestSeconds there.
    rateScale = (options.vcpuShare * options.referenceRequestSeconds) / hostRequestSeconds;
    say(
      `one /load request: ${hostRequestSeconds.toFixed(3)} host CPU-s here, ${options.referenceRequestSeconds} vCPU-s on ${spec.instanceType}: rates × ${rateScale.toFixed(3)}`,
    );
    // Time 0 = the first request of the load (artillery takes real seconds to start: at 10× they would be a
    // minute of the scenario); what came before is the deployment.
    const loading = options.load(lb.url, rateScale);
    const loadFailed = loading.then(
      () => {},
      () => {},
    );
    while (lb.received() === 0) {
      if ((await Promise.race([loadFailed.then(() => 'ended'), sleep(20).then(() => 'waiting')])) === 'ended')
        break;
    }
    for (const m of members.values()) m.cpuNsAtBucket = m.cpuNsAtPeriod = m.instance.cpuUsageNs();
    origin = performance.now();
    periodStartReal = bucketStartReal = origin;
    const early = lb.takeLog().map((r) => ({ ...r, at: 0 }));
    requests.push(...early);
    periodRequests += early.length;
    // The deployed stack's instances are past their warm-up and their grace period.
    for (const m of members.values()) m.launchedAt = -Math.max(warmupAws, spec.group.healthCheckGraceSeconds);
    events.length = 0;
    event('start', `load starts; ${alive().length} instances healthy`);

    timers.push(
      setInterval(() => void control(), ms(CONTROL_TICK_SECONDS)),
      setInterval(evaluatePeriod, ms(periodAws)),
      setInterval(collectBucket, ms(REPORT_BUCKET_SECONDS)),
    );
    for (const fault of options.faults) {
      const timer = setTimeout(() => {
        if (fault.kind === 'kill') {
          const victim = alive().find((m) => m.signalledAt !== undefined || m.launchedAt < 0) ?? alive()[0];
          if (victim) {
            event('fault', 'instance killed (every process SIGKILLed)', victim.instance.id);
            victim.instance.kill();
          }
        } else {
          faultTasks.push(rollingUpdate());
        }
      }, ms(fault.atAwsSeconds));
      timers.push(timer);
    }
    await loading;
    event('load', 'the scenario ended');
    await sleep(ms(options.tailAwsSeconds));
    await Promise.all(faultTasks);
  } finally {
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    collectBucket();
    await Promise.all(
      [...members.values()].map(async (m) => {
        for (const timer of m.timers) clearTimeout(timer);
        if (m.state !== 'Terminated') await m.instance.stop(ms(spec.app.stopTimeoutSeconds));
        await m.instance.reap();
      }),
    );
    await lb.close();
  }

  return {
    factor,
    vcpuShare: options.vcpuShare,
    hostRequestSeconds,
    rateScale,
    instanceType: spec.instanceType,
    quotaCores,
    policy: targetTracking ? `target tracking ${targetTracking.metric} ${targetTracking.target}` : 'step',
    thresholds: targetTracking
      ? targetTracking.metric === 'ASGAverageCPUUtilization'
        ? [{ name: 'target', value: targetTracking.target }]
        : []
      : spec.alarms.map((a) => ({ name: a.name, value: a.threshold })),
    events,
    buckets,
    periods,
    requests,
    usage: {
      instanceSeconds: Math.round(instanceSeconds),
      surplusVcpuMinutes: Math.round(surplusVcpuMinutes * 10) / 10,
    },
    rolling,
  };
}

/** The scale-up scenario's first prime (loadtest/scenarios/scale-up.yml): the largest prime below 2^53. */
const CALIBRATION_PRIME = '9007199254740881';
const CALIBRATION_REQUESTS = 3;

/** Median host CPU-seconds of one /load request of the scale-up scenario, alone on an idle instance. */
async function calibrate(instance: WebInstance): Promise<number> {
  const costs: number[] = [];
  for (let i = 0; i < CALIBRATION_REQUESTS; i++) {
    const before = instance.cpuUsageNs();
    const response = await fetch(`http://127.0.0.1:${instance.port}/load?number=${CALIBRATION_PRIME}`);
    await response.text();
    if (!response.ok) throw new Error(`calibration: /load answered ${response.status}`);
    costs.push((instance.cpuUsageNs() - before) / 1e9);
  }
  return costs.sort((a, b) => a - b)[Math.floor(costs.length / 2)] as number;
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/health', timeout: 2000, agent: false },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

export function formatClock(awsSeconds: number): string {
  const s = Math.max(0, Math.round(awsSeconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export type { TargetHealth };
