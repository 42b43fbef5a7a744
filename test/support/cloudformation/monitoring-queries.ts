// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not JavaScript templates
// The metrics a packaged template's dashboard and alarms read, and the metrics something in the stack emits:
// AWS services for the resources the template has, and the project's own code, asked for its names and
// dimensions rather than copied here.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toMetricData } from '../../../ec2/metrics/metric-data';
import { LEASE_METRIC_DIMENSIONS, leaseMetricsDocument } from '../../../ec2/sidecar/metrics/lease-metrics';
import { emfDocument, type RunMetrics } from '../../../handlers/failover/metrics';
import { isRecord, properties, resourcesOfType, type Template } from './template';

/** A dimension value, normalised: `Ref:X`, `GetAtt:X.Y`, a literal as `=text`, or `*` (any value). */
type DimensionValue = string;

interface MetricId {
  namespace: string;
  name: string;
  dimensions: Record<string, DimensionValue>;
}

export const describeMetric = (m: MetricId) =>
  `${m.namespace} ${m.name} {${Object.entries(m.dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}}`;

/** A CloudFormation value as a DimensionValue. */
export function normalise(value: unknown): DimensionValue {
  if (typeof value === 'string' || typeof value === 'number') return `=${value}`;
  if (isRecord(value) && typeof value.Ref === 'string') return `Ref:${value.Ref}`;
  if (isRecord(value) && Array.isArray(value['Fn::GetAtt'])) return `GetAtt:${value['Fn::GetAtt'].join('.')}`;
  return JSON.stringify(value);
}

/** A `${X}` / `${X.Y}` of an Fn::Sub string as a DimensionValue. */
const subValue = (name: string): DimensionValue => (name.includes('.') ? `GetAtt:${name}` : `Ref:${name}`);

// What AWS publishes for the resources (CloudWatch metrics of Application Load Balancers, EC2 and EC2 Auto
// Scaling, as the services document them), restricted to the ones this project reads.
const ALB_METRICS = [
  'RequestCount',
  'HTTPCode_Target_4XX_Count',
  'HTTPCode_Target_5XX_Count',
  'HTTPCode_ELB_4XX_Count',
  'HTTPCode_ELB_5XX_Count',
  'TargetResponseTime',
];
const TARGET_GROUP_METRICS = ['HealthyHostCount', 'UnHealthyHostCount'];
// What a group collects when its MetricsCollection lists no metrics (EC2 Auto Scaling group metrics).
const ALL_GROUP_METRICS = [
  'GroupMinSize',
  'GroupMaxSize',
  'GroupDesiredCapacity',
  'GroupInServiceInstances',
  'GroupPendingInstances',
  'GroupStandbyInstances',
  'GroupTerminatingInstances',
  'GroupTotalInstances',
];

// Aurora's instance metrics (CloudWatch metrics for Amazon Aurora, AWS/RDS), the ones this project reads. Each
// instance reports them under DBInstanceIdentifier, and CloudWatch aggregates them per cluster role (dimensions
// DBClusterIdentifier + Role = WRITER or READER). The lag to each replica is reported by the replica, the largest
// lag by the writer.
const AURORA_INSTANCE_METRICS = ['CPUUtilization', 'DatabaseConnections', 'FreeableMemory'];
const AURORA_ROLE_METRICS: Record<'WRITER' | 'READER', string[]> = {
  WRITER: [...AURORA_INSTANCE_METRICS, 'AuroraReplicaLagMaximum'],
  READER: [...AURORA_INSTANCE_METRICS, 'AuroraReplicaLag'],
};

/** The metrics of the template's Aurora clusters: a reader role exists only with a second instance. */
function auroraMetrics(template: Template): MetricId[] {
  const emitted: MetricId[] = [];
  for (const [cluster] of resourcesOfType(template, 'AWS::RDS::DBCluster')) {
    const members = resourcesOfType(template, 'AWS::RDS::DBInstance').filter(
      ([, instance]) => normalise(instance.Properties?.DBClusterIdentifier) === `Ref:${cluster}`,
    );
    const roles = members.length > 1 ? (['WRITER', 'READER'] as const) : (['WRITER'] as const);
    for (const role of roles) {
      for (const name of AURORA_ROLE_METRICS[role]) {
        emitted.push({
          namespace: 'AWS/RDS',
          name,
          dimensions: { DBClusterIdentifier: `Ref:${cluster}`, Role: `=${role}` },
        });
      }
    }
    for (const [instance] of members) {
      for (const name of AURORA_INSTANCE_METRICS) {
        emitted.push({ namespace: 'AWS/RDS', name, dimensions: { DBInstanceIdentifier: `Ref:${instance}` } });
      }
    }
  }
  return emitted;
}

/** The `export NAME=value` of a launch template's user data prelude, as written. */
function userDataExport(template: Template, launchTemplateId: string, name: string): string {
  const data = properties(template, launchTemplateId).LaunchTemplateData as Record<string, unknown>;
  const join = (data.UserData as Record<string, unknown>)['Fn::Base64'] as Record<string, unknown>;
  const parts = (join['Fn::Join'] as [string, unknown[]])[1];
  const line = parts.find((part) => typeof part === 'string' && part.startsWith(`export ${name}=`));
  if (typeof line !== 'string') throw new Error(`${launchTemplateId} exports no ${name}`);
  return line.slice(`export ${name}=`.length).trim();
}

export function emittedMetrics(template: Template): MetricId[] {
  const emitted: MetricId[] = [];
  for (const [id] of resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer')) {
    const dimensions = { LoadBalancer: `GetAtt:${id}.LoadBalancerFullName` };
    for (const name of ALB_METRICS) emitted.push({ namespace: 'AWS/ApplicationELB', name, dimensions });
    for (const [group] of resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup')) {
      for (const name of TARGET_GROUP_METRICS) {
        emitted.push({
          namespace: 'AWS/ApplicationELB',
          name,
          dimensions: { TargetGroup: `GetAtt:${group}.TargetGroupFullName`, ...dimensions },
        });
      }
    }
  }
  for (const [id, group] of resourcesOfType(template, 'AWS::AutoScaling::AutoScalingGroup')) {
    const dimensions = { AutoScalingGroupName: `Ref:${id}` };
    // Group metrics exist only for the ones the group collects.
    for (const collection of (group.Properties?.MetricsCollection as Record<string, unknown>[]) ?? []) {
      for (const name of (collection.Metrics as string[] | undefined) ?? ALL_GROUP_METRICS) {
        emitted.push({ namespace: 'AWS/AutoScaling', name, dimensions });
      }
    }
    // EC2 aggregates its instance metrics per group; one-minute periods need detailed monitoring.
    const launchTemplate = normalise(
      (group.Properties?.LaunchTemplate as Record<string, unknown>)?.LaunchTemplateId,
    );
    const data = properties(template, launchTemplate.replace('Ref:', '')).LaunchTemplateData as Record<
      string,
      unknown
    >;
    if ((data.Monitoring as Record<string, unknown> | undefined)?.Enabled === true) {
      emitted.push({ namespace: 'AWS/EC2', name: 'CPUUtilization', dimensions });
    }
  }

  // The web instances' metrics reporter: into the namespace their user data names, per group and per instance.
  const webNamespace = userDataExport(template, 'WebLaunchTemplate', 'METRICS_NAMESPACE');
  const sample = toMetricData(
    { cpu: { utilizationPercent: 1, ioWaitPercent: 1 }, memory: { utilizationPercent: 1 } } as Parameters<
      typeof toMetricData
    >[0],
    { instanceId: 'i-sample', autoScalingGroupName: 'web-group' },
    new Date(0),
  );
  for (const datum of sample) {
    emitted.push({
      namespace: webNamespace,
      name: String(datum.MetricName),
      dimensions: Object.fromEntries(
        (datum.Dimensions ?? []).map(({ Name, Value }) => [
          String(Name),
          Value === 'web-group' ? 'Ref:WebAutoScalingGroup' : '*',
        ]),
      ),
    });
  }

  // Lambda's own metrics of each function (Lambda Developer Guide, "Types of metrics for Lambda functions").
  for (const [id] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    for (const name of ['Invocations', 'Errors', 'Throttles', 'Duration', 'ConcurrentExecutions']) {
      emitted.push({ namespace: 'AWS/Lambda', name, dimensions: { FunctionName: `Ref:${id}` } });
    }
  }
  emitted.push(...auroraMetrics(template));
  // With the instance tier: the failover controller and the database sidecars.
  if (template.Resources.DatabaseFailoverLambdaFunction) emitted.push(...failoverMetrics(template));
  if (template.Resources.DatabaseLaunchTemplate)
    emitted.push(...sidecarMetrics(template), ...backupJobMetrics(template));
  return emitted;
}

/**
 * The database instances' backup job (ec2/backup/cloudy-backup.sh, run by the timers userdata/database.sh writes):
 * each `emit NAME VALUE UNIT` in it is an EMF line with no dimensions, in the namespace the user data names.
 */
function backupJobMetrics(template: Template): MetricId[] {
  const namespace = userDataExport(template, 'DatabaseLaunchTemplate', 'METRICS_NAMESPACE');
  const script = readFileSync(
    fileURLToPath(new URL('../../../ec2/backup/cloudy-backup.sh', import.meta.url)),
    'utf8',
  );
  return [...script.matchAll(/^\s*(?:if .*then )?emit (\w+) /gm)].map((match) => ({
    namespace,
    name: String(match[1]),
    dimensions: {},
  }));
}

/** The failover controller's metrics line, with the stage its function is told. */
function failoverMetrics(template: Template): MetricId[] {
  const emitted: MetricId[] = [];
  const failoverEnv = (
    properties(template, 'DatabaseFailoverLambdaFunction').Environment as Record<
      string,
      Record<string, unknown>
    >
  ).Variables;
  const everyRunMetric: Record<keyof RunMetrics, number> = {
    RouteChanges: 0,
    NoHealthyCandidate: 0,
    TransientErrors: 0,
  };
  const run = emfDocument(String(failoverEnv?.STAGE), everyRunMetric, 0);
  for (const directive of run._aws.CloudWatchMetrics) {
    for (const dimensionSet of directive.Dimensions) {
      for (const { Name } of directive.Metrics) {
        emitted.push({
          namespace: directive.Namespace,
          name: Name,
          dimensions: Object.fromEntries(
            dimensionSet.map((key) => [key, `=${String((run as unknown as Record<string, unknown>)[key])}`]),
          ),
        });
      }
    }
  }

  return emitted;
}

/** The database sidecar's EMF lines, into the namespace the database user data names. */
function sidecarMetrics(template: Template): MetricId[] {
  const emitted: MetricId[] = [];
  const databaseNamespace = userDataExport(template, 'DatabaseLaunchTemplate', 'METRICS_NAMESPACE');
  const line = leaseMetricsDocument({
    namespace: databaseNamespace,
    instanceId: 'i-sample',
    timestampMs: 0,
    values: { LeaseRenewLatency: [1], LeaseRenewFailures: 0, LeaseHeld: 1, Takeovers: 1, FencedTakeovers: 0 },
  }) as { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] } };
  for (const directive of line._aws.CloudWatchMetrics) {
    for (const dimensionSet of LEASE_METRIC_DIMENSIONS) {
      for (const { Name } of directive.Metrics) {
        emitted.push({
          namespace: directive.Namespace,
          name: Name,
          dimensions: Object.fromEntries(dimensionSet.map((key) => [key, '*'])),
        });
      }
    }
  }
  return emitted;
}

/** True when `read` names a metric in `emitted`: same namespace, name and dimension keys, matching values. */
export function isEmitted(read: MetricId, emitted: MetricId[]): boolean {
  return emitted.some((m) => {
    if (m.namespace !== read.namespace || m.name !== read.name) return false;
    const keys = Object.keys(m.dimensions).sort();
    if (keys.join() !== Object.keys(read.dimensions).sort().join()) return false;
    return keys.every(
      (key) =>
        m.dimensions[key] === '*' ||
        read.dimensions[key] === '*' ||
        m.dimensions[key] === read.dimensions[key],
    );
  });
}

interface DashboardWidget {
  type: string;
  properties: Record<string, unknown>;
}

/** The dashboard's body, parsed, with every `${X}` of its Fn::Sub turned into the DimensionValue it stands for. */
export function dashboardWidgets(template: Template, dashboardId: string): DashboardWidget[] {
  const body = properties(template, dashboardId).DashboardBody as Record<string, unknown>;
  const text = body['Fn::Sub'];
  if (typeof text !== 'string') throw new Error(`${dashboardId}: DashboardBody is not one Fn::Sub string`);
  const parsed = JSON.parse(text.replaceAll(/\$\{([^}]+)\}/g, (_, name: string) => `<<${subValue(name)}>>`));
  return (parsed as { widgets: DashboardWidget[] }).widgets;
}

const token = (value: unknown): DimensionValue => {
  const text = String(value);
  const match = /^<<(.+)>>$/.exec(text);
  return match ? (match[1] as string) : `=${text}`;
};

/** The metrics a dashboard widget draws: plain rows and SEARCH expressions. */
export function widgetMetrics(widget: DashboardWidget): MetricId[] {
  const rows = (widget.properties.metrics as unknown[][] | undefined) ?? [];
  return rows.map((row) => {
    const first = row[0];
    if (isRecord(first)) {
      const expression = String(first.expression);
      const match = /^SEARCH\('\{([^}]+)\} MetricName="([^"]+)"'/.exec(expression);
      if (!match) throw new Error(`not a SEARCH by metric name: ${expression}`);
      const [namespace, ...keys] = (match[1] as string).split(',');
      return {
        namespace: token(namespace).replace(/^=/, ''),
        name: match[2] as string,
        dimensions: Object.fromEntries(keys.map((key) => [key, '*'])),
      };
    }
    const strings = row.filter((item) => typeof item === 'string') as string[];
    if (strings.includes('.')) throw new Error('write every row in full, without "."');
    const [namespace, name, ...pairs] = strings;
    const dimensions: Record<string, DimensionValue> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = token(pairs[i + 1]);
    return { namespace: token(namespace).replace(/^=/, ''), name: String(name), dimensions };
  });
}

/** The metrics an alarm reads: its own, or those of its metric-math Metrics. */
export function alarmMetrics(template: Template, alarmId: string): MetricId[] {
  const props = properties(template, alarmId);
  const dims = (list: unknown) =>
    Object.fromEntries(
      ((list as Record<string, unknown>[]) ?? []).map((d) => [String(d.Name), normalise(d.Value)]),
    );
  if (Array.isArray(props.Metrics)) {
    return props.Metrics.filter((m) => isRecord(m) && isRecord(m.MetricStat)).map((m) => {
      const metric = (m.MetricStat as Record<string, Record<string, unknown>>).Metric as Record<
        string,
        unknown
      >;
      return {
        namespace: String(metric.Namespace),
        name: String(metric.MetricName),
        dimensions: dims(metric.Dimensions),
      };
    });
  }
  return [
    {
      namespace: String(props.Namespace),
      name: String(props.MetricName),
      dimensions: dims(props.Dimensions),
    },
  ];
}

/**
 * The alarms resources/lambda-alarms.cjs gives each function of the template: errors, throttles and a duration near
 * its timeout, by id, with the function and its timeout in seconds.
 */
export function lambdaAlarms(
  template: Template,
): { functionId: string; timeout: number; alarms: string[] }[] {
  return resourcesOfType(template, 'AWS::Lambda::Function').map(([functionId, fn]) => {
    const base = functionId.replace(/LambdaFunction$/, 'Function');
    return {
      functionId,
      timeout: Number(fn.Properties?.Timeout),
      alarms: ['Errors', 'Throttles', 'Duration'].map((kind) => `${base}${kind}Alarm`),
    };
  });
}
