// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not JavaScript templates
// The packaged CloudFormation template, tested as data: topology, scaling, user-data contracts, security rules
// and IAM, boot-time waits and update policies, plus validation against the CloudFormation resource
// specification. `sls package` runs twice (the defaults, and every stage option switched away from its default),
// offline and without AWS credentials.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  alarmMetrics,
  dashboardWidgets,
  describeMetric,
  emittedMetrics,
  isEmitted,
  lambdaAlarms,
  widgetMetrics,
} from '../../support/cloudformation/monitoring-queries';
import {
  loadResourceSpec,
  type ResourceSpec,
  validateTemplate,
} from '../../support/cloudformation/resource-spec';
import {
  admitsPort,
  ingressRules,
  managedPolicyArns,
  policyStatements,
} from '../../support/cloudformation/security-queries';
import {
  type PackagedStage,
  packageStage,
  packageTemplate,
} from '../../support/cloudformation/serverless-package';
import { ACCESS_OPTIONS, ADMIN_CIDR, CERTIFICATE_ARN } from '../../support/cloudformation/stage-variants';
import {
  isRecord,
  properties,
  ref,
  resource,
  resourcesOfType,
  type Template,
  tagValue,
} from '../../support/cloudformation/template';

const STAGE = 'ci';
const ALL_OPTIONS = ACCESS_OPTIONS;
const repositoryRoot = resolve(import.meta.dirname, '../../..');

// resources/user-data.cjs: each boot script as an instance gets it (its source without comment lines).
const { withoutComments } = createRequire(import.meta.url)('../../../resources/user-data.cjs') as {
  withoutComments: (script: string) => string;
};
const bootScript = (name: string) =>
  withoutComments(readFileSync(resolve(repositoryRoot, `userdata/${name}.sh`), 'utf8'));
// Session Manager's channel actions take no resource-level permissions (the Service Authorization Reference).
const SESSION_CHANNELS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

let defaults: Template; // the default stage
let defaultZips: PackagedStage['zips']; // its functions' zips
let allOptions: Template; // every stage option away from its default
let spec: ResourceSpec;

before(async () => {
  const specLoading = loadResourceSpec();
  // One after the other: both runs share serverless-esbuild's work folder.
  ({ template: defaults, zips: defaultZips } = await packageStage({ stage: STAGE }));
  allOptions = await packageTemplate({ stage: STAGE, params: ALL_OPTIONS });
  spec = await specLoading;
});

const bothTemplates = () =>
  [
    ['defaults', defaults],
    ['every option', allOptions],
  ] as const;

/** Every `{ "Fn::If": ... }` anywhere in a value, with its JSON path. */
function ifsIn(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => ifsIn(item, `${path}[${index}]`));
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === 'Fn::If' ? [path] : ifsIn(item, `${path}.${key}`),
  );
}

/** A default of a boot script (`NAME=$(printenv NAME || echo 30)`), as a number. */
function scriptDefault(script: string, name: string): number {
  const text = readFileSync(resolve(repositoryRoot, 'userdata', script), 'utf8');
  const match = new RegExp(`^${name}=\\$\\(printenv ${name} \\|\\| echo (\\d+)\\)$`, 'm').exec(text);
  assert.ok(match, `${script} sets ${name} with a default`);
  return Number(match[1]);
}

/** An ISO 8601 duration of the PTnHnMnS form, in seconds. */
function seconds(duration: unknown): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(String(duration));
  assert.ok(match, `not a PT duration: ${String(duration)}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

const dependsOn = (template: Template, id: string) => [resource(template, id).DependsOn ?? []].flat();

const count = (template: Template, type: string) => resourcesOfType(template, type).length;
const subnetAzIndex = (template: Template, id: string) => {
  const az = properties(template, id).AvailabilityZone;
  assert.ok(isRecord(az) && Array.isArray(az['Fn::Select']), `${id} must take its AZ from Fn::GetAZs`);
  assert.deepEqual(az['Fn::Select'][1], { 'Fn::GetAZs': '' });
  return az['Fn::Select'][0];
};

/** The literal text a user-data piece starts with: a string, or the first piece of its Fn::Sub / Fn::Join. */
function leadingText(part: unknown): string {
  if (typeof part === 'string') return part;
  if (!isRecord(part)) return '';
  const sub = part['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub)) return leadingText(sub[0]);
  const join = part['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) return leadingText(join[1][0]);
  return '';
}

/** The `export NAME=` lines a launch template's user data begins with, and the text after them. */
function userData(template: Template, launchTemplateId: string): { names: string[]; script: string } {
  const data = properties(template, launchTemplateId).LaunchTemplateData as Record<string, unknown>;
  const base64 = data.UserData as Record<string, unknown>;
  const join = base64['Fn::Base64'] as Record<string, unknown>;
  const [separator, parts] = join['Fn::Join'] as [string, unknown[]];
  assert.equal(separator, '');
  assert.equal(parts[0], '#!/bin/bash\n');
  const names = parts.slice(1, -1).map((part) => {
    const match = /^export ([A-Z_]+)=/.exec(leadingText(part));
    assert.ok(match, `user data line is not an export: ${JSON.stringify(part)}`);
    return match[1] as string;
  });
  const script = parts.at(-1);
  assert.equal(typeof script, 'string');
  return { names, script: script as string };
}

describe('sls package', () => {
  it('writes a template that fits the CloudFormation resource specification, with every option off or on', () => {
    assert.deepEqual(validateTemplate(defaults, spec), []);
    assert.deepEqual(validateTemplate(allOptions, spec), []);
  });

  it('decides the stage options at package time: no Conditions and no Fn::If comparing constants', () => {
    for (const [name, template] of bothTemplates()) {
      assert.equal(template.Conditions, undefined, name);
      assert.deepEqual(ifsIn(template.Resources), [], name);
      assert.deepEqual(ifsIn(template.Outputs ?? {}), [], name);
      for (const [id, r] of Object.entries(template.Resources)) assert.equal(r.Condition, undefined, id);
    }
  });

  it("silences cfn-lint only where osls itself causes a warning (W3005 on the functions' DependsOn)", () => {
    for (const [name, template] of bothTemplates()) {
      const silenced = Object.entries(template.Resources)
        .filter(([, r]) => r.Metadata?.['cfn-lint'] !== undefined)
        .map(([id, r]) => [id, r.Metadata?.['cfn-lint']]);
      const w3005 = { config: { ignore_checks: ['W3005'] } };
      assert.deepEqual(
        silenced,
        [
          ['ApiLambdaFunction', w3005],
          ['DatabaseFailoverLambdaFunction', w3005],
        ],
        name,
      );
      for (const [id] of silenced) {
        const role = properties(template, String(id)).Role as Record<string, unknown>;
        assert.ok(
          dependsOn(template, String(id)).includes(String((role['Fn::GetAtt'] as string[])[0])),
          String(id),
        );
      }
    }
  });

  it('leaves KeyName out without a key pair, and sets it on every instance with one', () => {
    // Prepare
    const keyNames = (template: Template) => [
      ...['WebLaunchTemplate', 'DatabaseLaunchTemplate'].map(
        (id) => (properties(template, id).LaunchTemplateData as Record<string, unknown>).KeyName,
      ),
      ...resourcesOfType(template, 'AWS::EC2::Instance').map(([, r]) => r.Properties?.KeyName),
    ];
    // Act / Assess
    for (const value of keyNames(defaults)) assert.deepEqual(value, ref('AWS::NoValue'));
    assert.deepEqual(keyNames(allOptions), ['cloudy-ops', 'cloudy-ops', 'cloudy-ops']);
  });

  it('leaves AWS lookups to CloudFormation: AMIs are SSM parameter types, resolved at deploy time', () => {
    assert.equal(defaults.Parameters?.AppAmiId?.Type, 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>');
    assert.equal(defaults.Parameters?.AppAmiId?.Default, `/cloudy/${STAGE}/app-ami-id`);
    assert.equal(defaults.Parameters?.NatAmiId?.Type, 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>');
    // Pinned in the stage's own parameter: AWS's public one moves and would replace the NAT on any update.
    assert.equal(defaults.Parameters?.NatAmiId?.Default, `/cloudy/${STAGE}/nat-ami-id`);
    for (const id of ['WebLaunchTemplate', 'DatabaseLaunchTemplate']) {
      const data = properties(defaults, id).LaunchTemplateData as Record<string, unknown>;
      assert.deepEqual(data.ImageId, ref('AppAmiId'), id);
    }
    assert.deepEqual(properties(defaults, 'NatInstance').ImageId, ref('NatAmiId'));
    assert.deepEqual(properties(allOptions, 'Bastion').ImageId, ref('NatAmiId'));
  });
});

describe('network', () => {
  it('is one VPC with DNS, two public and two private subnets spread over two AZs', () => {
    assert.equal(count(defaults, 'AWS::EC2::VPC'), 1);
    assert.equal(properties(defaults, 'Vpc').CidrBlock, '10.0.0.0/16');
    assert.equal(properties(defaults, 'Vpc').EnableDnsSupport, true);
    assert.equal(count(defaults, 'AWS::EC2::Subnet'), 4);
    assert.notEqual(subnetAzIndex(defaults, 'PublicSubnetA'), subnetAzIndex(defaults, 'PublicSubnetB'));
    assert.notEqual(subnetAzIndex(defaults, 'PrivateSubnetA'), subnetAzIndex(defaults, 'PrivateSubnetB'));
    assert.equal(properties(defaults, 'PublicSubnetA').MapPublicIpOnLaunch, true);
    assert.notEqual(properties(defaults, 'PrivateSubnetA').MapPublicIpOnLaunch, true);
  });

  it('routes the public subnets to the internet gateway and the private ones through the NAT instance', () => {
    assert.equal(count(defaults, 'AWS::EC2::InternetGateway'), 1);
    assert.deepEqual(properties(defaults, 'PublicDefaultRoute').GatewayId, ref('InternetGateway'));
    assert.deepEqual(properties(defaults, 'PrivateDefaultRoute').InstanceId, ref('NatInstance'));
    assert.equal(properties(defaults, 'PrivateDefaultRoute').NatGatewayId, undefined);
    assert.equal(properties(defaults, 'NatInstance').SourceDestCheck, false);
    assert.equal(count(defaults, 'AWS::EC2::NatGateway'), 0);
    for (const [subnet, table] of [
      ['PublicSubnetA', 'PublicRouteTable'],
      ['PublicSubnetB', 'PublicRouteTable'],
      ['PrivateSubnetA', 'PrivateRouteTable'],
      ['PrivateSubnetB', 'PrivateRouteTable'],
    ] as const) {
      const association = resourcesOfType(defaults, 'AWS::EC2::SubnetRouteTableAssociation').find(
        ([, r]) => JSON.stringify(r.Properties?.SubnetId) === JSON.stringify(ref(subnet)),
      );
      assert.deepEqual(association?.[1].Properties?.RouteTableId, ref(table), subnet);
    }
  });

  it('uses a managed NAT gateway instead when the stage asks for one', () => {
    assert.equal(count(allOptions, 'AWS::EC2::NatGateway'), 1);
    assert.equal(allOptions.Resources.NatInstance, undefined);
    assert.deepEqual(properties(allOptions, 'PrivateDefaultRoute').NatGatewayId, ref('NatGateway'));
    assert.equal(properties(allOptions, 'PrivateDefaultRoute').InstanceId, undefined);
  });

  it('tags both route tables as the virtual-IP route tables of this stage', () => {
    for (const id of ['PublicRouteTable', 'PrivateRouteTable']) {
      assert.equal(tagValue(properties(defaults, id).Tags, 'database'), 'true', id);
      assert.equal(tagValue(properties(defaults, id).Tags, 'cloudy:stage'), STAGE, id);
    }
  });

  it('reaches DynamoDB from the private subnets through a gateway endpoint', () => {
    // Act
    const endpoint = properties(defaults, 'DynamoDbEndpoint');
    // Assess
    assert.equal(endpoint.VpcEndpointType, 'Gateway');
    assert.deepEqual(endpoint.ServiceName, { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.dynamodb' });
    assert.deepEqual(endpoint.RouteTableIds, [ref('PrivateRouteTable')]);
  });

  it('reaches S3, where the AL2023 package repositories are, from the private subnets through the free gateway endpoint', () => {
    for (const [name, template] of bothTemplates()) {
      assert.deepEqual(
        properties(template, 'S3Endpoint'),
        {
          VpcId: ref('Vpc'),
          VpcEndpointType: 'Gateway',
          ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.s3' },
          RouteTableIds: [ref('PrivateRouteTable')],
        },
        name,
      );
    }
  });

  it('boots the NAT only once the public route exists, and the private tier only once its own route does', () => {
    assert.ok(dependsOn(defaults, 'NatInstance').includes('PublicDefaultRoute'));
    assert.ok(dependsOn(allOptions, 'NatGateway').includes('PublicDefaultRoute'));
    for (const [name, template] of bothTemplates()) {
      assert.ok(dependsOn(template, 'DatabaseAutoScalingGroup').includes('PrivateDefaultRoute'), name);
    }
  });

  it("installs the NAT instance's one package with bounded retries (its AMI is the stock one)", () => {
    // Act
    const script = properties(defaults, 'NatInstance').UserData as Record<string, unknown>;
    const text = String(script['Fn::Base64']);
    // Assess
    assert.equal(text, bootScript('nat-instance'));
    assert.match(text, /^until dnf install -y iptables-services; do$/m);
    assert.ok(scriptDefault('nat-instance.sh', 'PACKAGE_ATTEMPTS') > 1);
  });

  it('reaches the EC2 API from both private subnets through an interface endpoint, unless the stage opts out', () => {
    assert.deepEqual(properties(defaults, 'Ec2Endpoint'), {
      VpcId: ref('Vpc'),
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.ec2' },
      PrivateDnsEnabled: true,
      SubnetIds: [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
      SecurityGroupIds: [ref('Ec2EndpointSecurityGroup')],
    });
    // ec2Endpoint=false
    assert.equal(allOptions.Resources.Ec2Endpoint, undefined);
    assert.equal(allOptions.Resources.Ec2EndpointSecurityGroup, undefined);
    assert.deepEqual(
      resourcesOfType(allOptions, 'AWS::EC2::VPCEndpoint')
        .map(([id]) => id)
        .sort(),
      ['DynamoDbEndpoint', 'S3Endpoint'],
    );
  });

  it('has a bastion only when the stage names an admin CIDR', () => {
    assert.equal(count(defaults, 'AWS::EC2::Instance'), 1, 'only the NAT instance by default');
    assert.equal(allOptions.Resources.Bastion?.Type, 'AWS::EC2::Instance');
    assert.ok(allOptions.Outputs?.BastionAddress);
    assert.equal(defaults.Outputs?.BastionAddress, undefined);
  });
});

describe('web tier', () => {
  it('puts an internet-facing ALB over both public subnets, listening on 8080', () => {
    // Act
    const alb = properties(defaults, 'LoadBalancer');
    // Assess
    assert.equal(alb.Scheme, 'internet-facing');
    assert.deepEqual(alb.Subnets, [ref('PublicSubnetA'), ref('PublicSubnetB')]);
    const listeners = resourcesOfType(defaults, 'AWS::ElasticLoadBalancingV2::Listener');
    assert.deepEqual(
      listeners.map(([, r]) => r.Properties?.Port),
      [8080],
    );
    assert.equal(count(allOptions, 'AWS::ElasticLoadBalancingV2::Listener'), 2);
    const https = properties(allOptions, 'HttpsListener');
    assert.equal(https.Port, 443);
    assert.deepEqual(https.Certificates, [{ CertificateArn: CERTIFICATE_ARN }]);
  });

  it('with a certificate, serves the app on 443 and redirects 8080 to HTTPS; without one, serves 8080 plainly', () => {
    // Prepare
    const forward = [{ Type: 'forward', TargetGroupArn: ref('WebTargetGroup') }];
    // Act / Assess
    assert.deepEqual(properties(defaults, 'HttpListener').DefaultActions, forward);
    assert.deepEqual(properties(allOptions, 'HttpsListener').DefaultActions, forward);
    const http = properties(allOptions, 'HttpListener');
    assert.equal(http.Port, 8080);
    assert.deepEqual(http.DefaultActions, [
      { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
    ]);
    assert.equal(defaults.Resources.HttpsListener, undefined);
    assert.ok(allOptions.Outputs?.LoadBalancerHttpsUrl);
    assert.equal(defaults.Outputs?.LoadBalancerHttpsUrl, undefined);
  });

  it('forwards to a target group on 8080 that checks GET /health and drains for 20 s', () => {
    // Act
    const group = properties(defaults, 'WebTargetGroup');
    // Assess
    assert.equal(group.Port, 8080);
    assert.equal(group.HealthCheckPath, '/health');
    assert.deepEqual(group.TargetGroupAttributes, [
      { Key: 'deregistration_delay.timeout_seconds', Value: '20' },
    ]);
    const defaultAction = (properties(defaults, 'HttpListener').DefaultActions as unknown[])[0];
    assert.deepEqual(defaultAction, { Type: 'forward', TargetGroupArn: ref('WebTargetGroup') });
  });

  it('runs 2 to 3 web instances from a launch template over both public subnets, with ELB health checks', () => {
    assert.equal(count(defaults, 'AWS::AutoScaling::LaunchConfiguration'), 0);
    const group = properties(defaults, 'WebAutoScalingGroup');
    assert.equal(Number(group.MinSize), 2);
    assert.equal(Number(group.MaxSize), 3);
    assert.deepEqual(group.VPCZoneIdentifier, [ref('PublicSubnetA'), ref('PublicSubnetB')]);
    assert.deepEqual(group.TargetGroupARNs, [ref('WebTargetGroup')]);
    assert.equal(group.HealthCheckType, 'ELB');
    assert.ok(Number(group.HealthCheckGracePeriod) > 0);
    assert.deepEqual(group.LaunchTemplate, {
      LaunchTemplateId: ref('WebLaunchTemplate'),
      Version: { 'Fn::GetAtt': ['WebLaunchTemplate', 'LatestVersionNumber'] },
    });
  });

  it('waits for a readiness signal from as many instances as the minimum size', () => {
    // Act
    const web = resource(defaults, 'WebAutoScalingGroup');
    const signal = (web.CreationPolicy?.ResourceSignal ?? {}) as Record<string, unknown>;
    // Assess
    assert.equal(Number(signal.Count), Number(web.Properties?.MinSize));
  });

  it('launches only after the database tier signalled that its primary serves', () => {
    for (const [name, template] of bothTemplates()) {
      assert.ok(dependsOn(template, 'WebAutoScalingGroup').includes('DatabaseAutoScalingGroup'), name);
    }
  });

  it("sizes the health-check grace period and the signal timeout from the boot script's bound", () => {
    // Prepare
    // Up to 120 s from launch until user data runs (docs/DEPLOY.md, "Time budget of a first deploy").
    const bootSeconds = 120;
    // Act
    const healthWait =
      scriptDefault('webserver.sh', 'HEALTH_ATTEMPTS') *
      scriptDefault('webserver.sh', 'HEALTH_INTERVAL_SECONDS');
    const web = resource(defaults, 'WebAutoScalingGroup');
    const grace = Number(web.Properties?.HealthCheckGracePeriod);
    // Assess
    // The script signals failure itself before the ALB's verdict can terminate the instance.
    assert.ok(grace >= bootSeconds + healthWait, `grace ${grace} s < ${bootSeconds} s + ${healthWait} s`);
    const timeout = seconds(
      (web.CreationPolicy?.ResourceSignal as Record<string, unknown> | undefined)?.Timeout,
    );
    assert.ok(timeout > grace, `the signal timeout ${timeout} s must outlast the grace period ${grace} s`);
  });

  it('rolls a new AMI or launch template out one instance at a time, each waiting for its signal', () => {
    // Act
    const web = resource(defaults, 'WebAutoScalingGroup');
    const rolling = web.UpdatePolicy?.AutoScalingRollingUpdate as Record<string, unknown>;
    // Assess
    assert.equal(rolling.WaitOnResourceSignals, true);
    assert.equal(Number(rolling.MaxBatchSize), 1);
    assert.equal(Number(rolling.MinInstancesInService), Number(web.Properties?.MinSize));
    assert.ok(seconds(rolling.PauseTime) >= Number(web.Properties?.HealthCheckGracePeriod));
    assert.deepEqual(
      (properties(defaults, 'WebAutoScalingGroup').LaunchTemplate as Record<string, unknown>).Version,
      { 'Fn::GetAtt': ['WebLaunchTemplate', 'LatestVersionNumber'] },
      'a new AMI makes a new launch template version, which triggers the update',
    );
  });

  it('scales up by 1 above 60 % CPU for 2 × 60 s and down by 1 below 40 % for 2 × 60 s, 60 s apart', () => {
    // Act
    // The alarms that drive the web group (the others notify a person: "dashboard and alarms" below).
    const alarms = resourcesOfType(defaults, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
      JSON.stringify(alarm.Properties?.AlarmActions).includes('WebScale'),
    );
    // Assess
    assert.equal(alarms.length, 2);
    const expected = [
      { threshold: 60, operator: 'GreaterThanThreshold', adjustment: 1, bound: 'MetricIntervalLowerBound' },
      { threshold: 40, operator: 'LessThanThreshold', adjustment: -1, bound: 'MetricIntervalUpperBound' },
    ];
    for (const want of expected) {
      const found = alarms.find(([, alarm]) => alarm.Properties?.Threshold === want.threshold);
      assert.ok(found, `an alarm at ${want.threshold} %`);
      const alarm = found[1].Properties ?? {};
      assert.equal(alarm.Namespace, 'AWS/EC2');
      assert.equal(alarm.MetricName, 'CPUUtilization');
      assert.equal(alarm.Statistic, 'Average');
      assert.equal(alarm.Period, 60);
      assert.equal(alarm.EvaluationPeriods, 2);
      assert.equal(alarm.ComparisonOperator, want.operator);
      assert.deepEqual(alarm.Dimensions, [
        { Name: 'AutoScalingGroupName', Value: ref('WebAutoScalingGroup') },
      ]);
      const actions = alarm.AlarmActions as { Ref: string }[];
      assert.equal(actions.length, 1);
      const policy = properties(defaults, actions[0]?.Ref ?? '');
      assert.equal(resource(defaults, actions[0]?.Ref ?? '').Type, 'AWS::AutoScaling::ScalingPolicy');
      assert.deepEqual(policy.AutoScalingGroupName, ref('WebAutoScalingGroup'));
      assert.equal(policy.PolicyType, 'StepScaling');
      assert.equal(policy.AdjustmentType, 'ChangeInCapacity');
      assert.equal(policy.EstimatedInstanceWarmup, 60);
      assert.deepEqual(policy.StepAdjustments, [{ [want.bound]: 0, ScalingAdjustment: want.adjustment }]);
    }
    assert.equal(Number(properties(defaults, 'WebAutoScalingGroup').Cooldown), 60);
    const monitoring = (
      properties(defaults, 'WebLaunchTemplate').LaunchTemplateData as Record<string, unknown>
    ).Monitoring;
    assert.deepEqual(monitoring, { Enabled: true }, 'one-minute CPU metrics for 60 s alarm periods');
  });

  it('boots with the user-data contract of userdata/webserver.sh', () => {
    // Act
    const { names, script } = userData(defaults, 'WebLaunchTemplate');
    // Assess
    assert.deepEqual(names, [
      'STAGE',
      'AWS_REGION',
      'STACK_NAME',
      'DB_SECRET_ROLE_ARN',
      'DB_SECRET_ID',
      'DB_SECRET_REGION',
      'DB_WRITER_HOST',
      'DB_READER_HOST',
      'DB_CA_PARAMETER',
      'DB_CA_FILE',
      'METRICS_NAMESPACE',
      'WEB_PROCESSES',
      'DB_POOL_MAX',
      'AUTH_ISSUER',
      'AUTH_AUDIENCE',
      'AUTH_JWKS_URL',
      'SIGNAL_RESOURCE',
      'LOG_GROUP',
      'TARGET_HEALTHY_SECONDS',
    ]);
    assert.equal(script, bootScript('webserver'));
    const data = properties(defaults, 'WebLaunchTemplate').LaunchTemplateData as Record<string, unknown>;
    const parts = ((data.UserData as Record<string, Record<string, unknown[]>>)['Fn::Base64']?.[
      'Fn::Join'
    ]?.[1] ?? []) as unknown[];
    assert.ok(parts.includes('export SIGNAL_RESOURCE=WebAutoScalingGroup\n'));
    // The signal waits until the load balancer can count the instance healthy (a rolling update retires an old
    // instance on the signal).
    const targetGroup = properties(defaults, 'WebTargetGroup');
    const healthySeconds =
      Number(targetGroup.HealthyThresholdCount) * Number(targetGroup.HealthCheckIntervalSeconds);
    assert.ok(parts.includes(`export TARGET_HEALTHY_SECONDS=${healthySeconds}\n`));
  });
});

describe('database tier', () => {
  it('runs 1 to 2 database instances over both private subnets, 2 by default (a warm standby)', () => {
    // Act
    const group = properties(defaults, 'DatabaseAutoScalingGroup');
    // Assess
    assert.equal(Number(group.MinSize), 1);
    assert.equal(Number(group.MaxSize), 2);
    assert.equal(Number(group.DesiredCapacity), 2);
    assert.deepEqual(group.VPCZoneIdentifier, [ref('PrivateSubnetA'), ref('PrivateSubnetB')]);
    assert.deepEqual(
      (group.LaunchTemplate as Record<string, unknown>).LaunchTemplateId,
      ref('DatabaseLaunchTemplate'),
    );
  });

  it('tags every database instance at launch with database=true and the stage', () => {
    // Act
    const tags = properties(defaults, 'DatabaseAutoScalingGroup').Tags as Record<string, unknown>[];
    // Assess
    for (const [key, value] of [
      ['database', 'true'],
      ['cloudy:stage', STAGE],
    ]) {
      assert.deepEqual(
        tags.find((tag) => tag.Key === key),
        { Key: key, Value: value, PropagateAtLaunch: true },
      );
    }
  });

  it('keeps PGDATA on an encrypted EFS file system mounted in both private subnets', () => {
    assert.equal(count(defaults, 'AWS::EFS::FileSystem'), 1);
    assert.equal(properties(defaults, 'DatabaseFileSystem').Encrypted, true);
    const targets = resourcesOfType(defaults, 'AWS::EFS::MountTarget').map(([, r]) => r.Properties ?? {});
    assert.deepEqual(
      targets.map((target) => target.SubnetId),
      [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
    );
    for (const target of targets) assert.deepEqual(target.SecurityGroups, [ref('EfsSecurityGroup')]);
  });

  it('keeps the lease in an encrypted on-demand DynamoDB table keyed by lockName', () => {
    // Act
    const table = properties(defaults, 'LeaseTable');
    // Assess
    assert.deepEqual(table.KeySchema, [{ AttributeName: 'lockName', KeyType: 'HASH' }]);
    assert.deepEqual(table.AttributeDefinitions, [{ AttributeName: 'lockName', AttributeType: 'S' }]);
    assert.equal(table.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(table.SSESpecification, { SSEEnabled: true });
  });

  it('boots with the user-data contract of userdata/database.sh', () => {
    // Act
    const { names, script } = userData(defaults, 'DatabaseLaunchTemplate');
    // Assess
    assert.deepEqual(names, [
      'STAGE',
      'AWS_REGION',
      'STACK_NAME',
      'LEASE_TABLE',
      'EFS_FILE_SYSTEM_ID',
      'VIRTUAL_IP',
      'ROUTE_TABLE_IDS',
      'DB_SECRET_ROLE_ARN',
      'DB_SECRET_ID',
      'DB_SECRET_REGION',
      'SIGNAL_RESOURCE',
      'LOG_GROUP',
      'DB_CA_PARAMETER',
      'DB_MAX_CONNECTIONS',
      'METRICS_NAMESPACE',
      'BACKUP_BUCKET',
      'BACKUP_RETENTION_DAYS',
    ]);
    assert.equal(script, bootScript('database'));
    const data = properties(defaults, 'DatabaseLaunchTemplate').LaunchTemplateData as Record<string, unknown>;
    assert.ok(JSON.stringify(data.UserData).includes('export SIGNAL_RESOURCE=DatabaseAutoScalingGroup\\n'));
    assert.match(
      JSON.stringify(data.UserData),
      /export ROUTE_TABLE_IDS=\$\{PublicRouteTable\},\$\{PrivateRouteTable\}/,
    );
  });

  it('is a readiness gate: the stack waits until every instance saw a primary that serves', () => {
    // Act
    const group = resource(defaults, 'DatabaseAutoScalingGroup');
    const signal = group.CreationPolicy?.ResourceSignal as Record<string, unknown>;
    // Assess
    assert.equal(Number(signal.Count), Number(group.Properties?.DesiredCapacity));
    // Up to 120 s from launch until user data runs, then database.sh's bounds one after the other: the EFS
    // mount, the two AWS calls through the NAT (STS, Secrets Manager), the wait for a primary.
    const retry = scriptDefault('database.sh', 'RETRY_SECONDS');
    const budget =
      120 +
      retry *
        (scriptDefault('database.sh', 'MOUNT_ATTEMPTS') +
          2 * scriptDefault('database.sh', 'AWS_ATTEMPTS') +
          scriptDefault('database.sh', 'READY_ATTEMPTS'));
    assert.ok(seconds(signal.Timeout) >= budget, `timeout ${String(signal.Timeout)} < ${budget} s`);
    assert.ok(dependsOn(defaults, 'DatabaseAutoScalingGroup').includes('DatabaseMountTargetA'));
    assert.ok(dependsOn(defaults, 'DatabaseAutoScalingGroup').includes('DatabaseMountTargetB'));
  });

  it('rolls a new AMI out as a new group of standbys first, the old group with the primary last', () => {
    // Act
    const group = resource(defaults, 'DatabaseAutoScalingGroup');
    // Assess
    assert.deepEqual(group.UpdatePolicy, { AutoScalingReplacingUpdate: { WillReplace: true } });
    // Two groups exist side by side during the replacement: a fixed name would make that impossible.
    assert.equal(group.Properties?.AutoScalingGroupName, undefined);
    assert.ok(group.CreationPolicy?.ResourceSignal, 'the new group is judged by the same signals');
  });

  it('installs no package at boot: every package the launch templates need is in the AMI', () => {
    for (const id of ['WebLaunchTemplate', 'DatabaseLaunchTemplate']) {
      const { script } = userData(defaults, id);
      assert.doesNotMatch(script, /\b(dnf|yum|rpm|amazon-linux-extras)\s+(-\S+\s+)*install\b/, id);
      assert.match(script, /this AMI was not made by npm run bake-ami/, `${id} checks the AMI contract`);
    }
  });

  it('keeps both launch templates within the 16 KB user-data limit', () => {
    for (const id of ['WebLaunchTemplate', 'DatabaseLaunchTemplate']) {
      const data = properties(defaults, id).LaunchTemplateData as Record<string, unknown>;
      // The literal text plus generous room for the ids and ARNs CloudFormation fills in.
      const size = Buffer.byteLength(JSON.stringify(data.UserData)) + 1024;
      assert.ok(size < 16 * 1024, `${id} user data is about ${size} bytes`);
    }
  });
});

describe('api function', () => {
  it('runs in the private subnets with its own security group and role', () => {
    // Act
    const fn = properties(defaults, 'ApiLambdaFunction');
    // Assess
    assert.deepEqual(fn.VpcConfig, {
      SecurityGroupIds: [ref('ApiSecurityGroup')],
      SubnetIds: [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
    });
    assert.deepEqual(fn.Role, { 'Fn::GetAtt': ['ApiFunctionRole', 'Arn'] });
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    // resources/api.yml replaces the whole environment: the provider's variables must survive it.
    assert.deepEqual(Object.keys(env).sort(), [
      'AUTH_AUDIENCE',
      'AUTH_ISSUER',
      'AUTH_JWKS_URL',
      'DB_CA_FILE',
      'DB_CA_PARAMETER',
      'DB_READER_HOST',
      'DB_SECRET_ID',
      'DB_SECRET_REGION',
      'DB_SECRET_ROLE_ARN',
      'DB_WRITER_HOST',
    ]);
    // The instance tier has no reader: the app sends every query to the writer, the virtual IP, and verifies
    // it against the CA the tier publishes (no CA file).
    assert.equal(env.DB_WRITER_HOST, '10.10.10.10');
    assert.equal(env.DB_READER_HOST, '');
    assert.equal(env.DB_CA_FILE, '');
    for (const key of ['DB_SECRET_ROLE_ARN', 'DB_SECRET_ID', 'DB_SECRET_REGION', 'DB_CA_PARAMETER']) {
      assert.ok(env[key] !== undefined && env[key] !== '', `${key} is set`);
    }
  });

  it('answers on the ALB under /lambda, on the listener that serves the app', () => {
    for (const [template, listener] of [
      [defaults, 'HttpListener'],
      [allOptions, 'HttpsListener'],
    ] as const) {
      const rules = resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::ListenerRule').map(
        ([, r]) => r.Properties,
      );
      assert.equal(rules.length, 1);
      assert.deepEqual(rules[0]?.ListenerArn, ref(listener));
      assert.deepEqual(rules[0]?.Conditions, [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/lambda', '/lambda/*'] } },
      ]);
    }
  });

  it('writes every listener rule condition in a form AWS accepts: one legacy value, or at most five in a Config', () => {
    for (const [name, template] of bothTemplates()) {
      for (const [id, rule] of resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::ListenerRule')) {
        for (const condition of (rule.Properties?.Conditions ?? []) as Record<string, unknown>[]) {
          const legacy = condition.Values;
          assert.ok(
            legacy === undefined || (Array.isArray(legacy) && legacy.length === 1),
            `${name} ${id}: ${JSON.stringify(condition)} has more than one legacy value`,
          );
          for (const [key, config] of Object.entries(condition)) {
            if (!key.endsWith('Config') || !isRecord(config) || !Array.isArray(config.Values)) continue;
            assert.ok(config.Values.length <= 5, `${name} ${id}: ${key} has more than five values`);
          }
        }
      }
    }
  });
});

describe('security', () => {
  it('requires IMDSv2 on every launch template and every instance', () => {
    for (const template of [defaults, allOptions]) {
      for (const [id, lt] of resourcesOfType(template, 'AWS::EC2::LaunchTemplate')) {
        const data = lt.Properties?.LaunchTemplateData as Record<string, Record<string, unknown>>;
        assert.equal(data.MetadataOptions?.HttpTokens, 'required', id);
      }
      for (const [id, instance] of resourcesOfType(template, 'AWS::EC2::Instance')) {
        assert.equal(
          (instance.Properties?.MetadataOptions as Record<string, unknown>)?.HttpTokens,
          'required',
          id,
        );
      }
    }
  });

  it('opens nothing to the world but the ALB listener ports', () => {
    // Prepare
    const worldOpen = (template: Template) =>
      ingressRules(template)
        .filter((rule) => rule.cidr === '0.0.0.0/0' || rule.cidr === '::/0')
        .map((rule) => `${rule.group}:${rule.fromPort}-${rule.toPort}`)
        .sort();
    // Act / Assess
    assert.deepEqual(worldOpen(defaults), ['AlbSecurityGroup:8080-8080']);
    assert.deepEqual(worldOpen(allOptions), ['AlbSecurityGroup:443-443', 'AlbSecurityGroup:8080-8080']);
  });

  it('admits each tier only from the tier in front of it', () => {
    for (const template of [defaults, allOptions]) {
      const into = (group: string) =>
        ingressRules(template)
          .filter((rule) => rule.group === group)
          .map((rule) => `${rule.fromPort}-${rule.toPort} from ${rule.sourceGroup ?? rule.cidr}`)
          .sort();
      const bastion = template === allOptions ? ['22-22 from BastionSecurityGroup'] : [];
      assert.deepEqual(into('WebSecurityGroup'), [...bastion, '8080-8080 from AlbSecurityGroup'].sort());
      assert.deepEqual(
        into('DatabaseSecurityGroup'),
        [...bastion, '5432-5432 from ApiSecurityGroup', '5432-5432 from WebSecurityGroup'].sort(),
      );
      assert.deepEqual(into('EfsSecurityGroup'), ['2049-2049 from DatabaseSecurityGroup']);
      assert.deepEqual(into('ApiSecurityGroup'), []);
    }
    const bastionRules = ingressRules(allOptions).filter((rule) => rule.group === 'BastionSecurityGroup');
    assert.deepEqual(bastionRules, [
      { group: 'BastionSecurityGroup', protocol: 'tcp', fromPort: 22, toPort: 22, cidr: ADMIN_CIDR },
    ]);
  });

  it('admits PostgreSQL only from the web and api security groups, never from an address range', () => {
    for (const template of [defaults, allOptions]) {
      const postgres = ingressRules(template).filter((rule) => admitsPort(rule, 5432));
      assert.ok(postgres.length > 0);
      for (const rule of postgres) {
        assert.equal(rule.cidr, undefined);
        assert.ok(
          ['WebSecurityGroup', 'ApiSecurityGroup'].includes(rule.sourceGroup ?? ''),
          JSON.stringify(rule),
        );
      }
    }
  });

  it('admits only the database instances to the EC2 API endpoint, on 443', () => {
    // Act
    const endpoint = ingressRules(defaults).filter((rule) => rule.group === 'Ec2EndpointSecurityGroup');
    // Assess
    assert.deepEqual(endpoint, [
      {
        group: 'Ec2EndpointSecurityGroup',
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        sourceGroup: 'DatabaseSecurityGroup',
      },
    ]);
  });

  it('lets the NAT instance forward HTTPS only for the private tiers (nothing installs packages through it)', () => {
    // Act
    const nat = ingressRules(defaults).filter((rule) => rule.group === 'NatSecurityGroup');
    // Assess
    assert.deepEqual(nat.map((rule) => rule.sourceGroup).sort(), [
      'ApiSecurityGroup',
      'DatabaseSecurityGroup',
    ]);
    for (const rule of nat) {
      assert.ok(rule.fromPort === 443 && rule.toPort === 443, JSON.stringify(rule));
      assert.ok(
        ['DatabaseSecurityGroup', 'ApiSecurityGroup'].includes(rule.sourceGroup ?? ''),
        JSON.stringify(rule),
      );
    }
  });

  it('lets the ALB send only to the web instances', () => {
    // Act
    const egress = resourcesOfType(defaults, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => r.Properties);
    // Assess
    assert.deepEqual(egress, [
      {
        GroupId: ref('AlbSecurityGroup'),
        Description: 'Forward to the web instances and health-check them',
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
        DestinationSecurityGroupId: ref('WebSecurityGroup'),
      },
    ]);
  });

  it('encrypts the data at rest', () => {
    for (const [id, fs] of resourcesOfType(defaults, 'AWS::EFS::FileSystem')) {
      assert.equal(fs.Properties?.Encrypted, true, id);
    }
    for (const [id, table] of resourcesOfType(defaults, 'AWS::DynamoDB::Table')) {
      assert.deepEqual(table.Properties?.SSESpecification, { SSEEnabled: true }, id);
    }
  });

  it('names every named resource after the service and stage', () => {
    // Prepare
    const nameKeys = [
      'RoleName',
      'LaunchTemplateName',
      'AutoScalingGroupName',
      'TableName',
      'AlarmName',
      'FunctionName',
    ];
    // Act / Assess
    for (const [id, r] of Object.entries(allOptions.Resources)) {
      const props = r.Properties ?? {};
      for (const key of nameKeys) {
        if (typeof props[key] === 'string')
          assert.ok(String(props[key]).startsWith(`cloudy-${STAGE}-`), `${id}.${key}`);
      }
      const nameTag = tagValue(props.Tags ?? props.FileSystemTags, 'Name');
      if (typeof nameTag === 'string')
        assert.ok(nameTag.includes(`cloudy-`) && nameTag.includes(STAGE), `${id} Name tag`);
    }
    assert.equal(properties(allOptions, 'LoadBalancer').Name, `cloudy-${STAGE}`);
  });
});

describe('IAM', () => {
  const secretRoleArn = (template: Template) =>
    (properties(template, 'ApiLambdaFunction').Environment as { Variables: Record<string, unknown> })
      .Variables.DB_SECRET_ROLE_ARN;

  it('grants no wildcard actions, and "*" resources only to describe/list calls, a namespace-bound metric put or Session Manager channels', () => {
    for (const template of [defaults, allOptions]) {
      for (const statement of policyStatements(template).filter((s) => s.effect === 'Allow')) {
        for (const action of statement.actions)
          assert.ok(!action.includes('*'), `${statement.owner}: ${action}`);
        if (!statement.resources.includes('*')) continue;
        for (const action of statement.actions) {
          const readOnly = /^[a-z0-9-]+:(Describe|List)[A-Za-z]*$/.test(action);
          const namespaced =
            action === 'cloudwatch:PutMetricData' &&
            isRecord(statement.condition?.StringEquals) &&
            'cloudwatch:namespace' in statement.condition.StringEquals;
          assert.ok(
            readOnly || namespaced || SESSION_CHANNELS.includes(action),
            `${statement.owner}: ${action} on *`,
          );
        }
      }
    }
  });

  it('attaches no broad AWS-managed policies', () => {
    for (const { owner, arn } of managedPolicyArns(allOptions)) {
      assert.doesNotMatch(arn, /FullAccess|AdministratorAccess|PowerUser/, owner);
    }
  });

  it('lets web, database and api roles assume only the configured secrets-account role', () => {
    for (const template of [defaults, allOptions]) {
      const assumes = policyStatements(template).filter((s) => s.actions.includes('sts:AssumeRole'));
      assert.deepEqual(assumes.map((s) => s.owner).sort(), [
        'ApiFunctionRole',
        'DatabaseInstanceRole',
        'WebInstanceRole',
      ]);
      for (const statement of assumes) {
        assert.deepEqual(statement.actions, ['sts:AssumeRole']);
        assert.deepEqual(statement.resources, [secretRoleArn(template)]);
      }
    }
    assert.deepEqual(secretRoleArn(allOptions), {
      'Fn::Sub': [
        'arn:${AWS::Partition}:iam::${SecretsAccountId}:role/cloudy-ci-db-secret-reader',
        { SecretsAccountId: '444455556666' },
      ],
    });
    assert.deepEqual(
      (properties(allOptions, 'ApiLambdaFunction').Environment as { Variables: Record<string, unknown> })
        .Variables.DB_SECRET_REGION,
      'eu-central-1',
    );
  });

  it('names the roles that read the secret so that the secrets account trusts them', () => {
    // Act
    // resources/secrets-account/template.json trusts role/${Service}-${Stage}-* of the app account.
    const readers = policyStatements(defaults)
      .filter((s) => s.actions.includes('sts:AssumeRole'))
      .map((s) => properties(defaults, s.owner).RoleName);
    // Assess
    assert.equal(readers.length, 3);
    for (const name of readers) assert.ok(String(name).startsWith(`cloudy-${STAGE}-`), String(name));
  });

  it('lets web instances put metrics only in the project namespace and signal only this stack', () => {
    // Act
    const web = policyStatements(defaults).filter((s) => s.owner === 'WebInstanceRole');
    const metrics = web.find((s) => s.actions.includes('cloudwatch:PutMetricData'));
    // Assess
    assert.deepEqual(metrics?.condition, { StringEquals: { 'cloudwatch:namespace': `cloudy/${STAGE}` } });
    const signal = web.find((s) => s.actions.includes('cloudformation:SignalResource'));
    assert.deepEqual(signal?.resources, [ref('AWS::StackId')]);
  });

  it('gives the database instances exactly the calls the sidecar and the boot script make, and no other', () => {
    // Act
    const db = policyStatements(defaults).filter((s) => s.owner === 'DatabaseInstanceRole');
    // Assess
    assert.deepEqual(
      db.flatMap((s) => s.actions).sort(),
      [
        'cloudformation:SignalResource', // userdata/database.sh: the readiness gate
        'dynamodb:GetItem', // shared/lease-table/holder-writes.ts, the readiness check (ec2/sidecar/serving-primary.ts)
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'ec2:CreateRoute', // ec2/sidecar/promote/ec2-promoter.ts
        'ec2:DescribeInstances', // ec2/sidecar/fence/ec2-fencer.ts, ec2-promoter.ts
        'ec2:DescribeRouteTables',
        'ec2:ModifyInstanceAttribute',
        'ec2:ReplaceRoute',
        'ec2:StopInstances',
        'logs:CreateLogStream', // the CloudWatch agent
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
        'ssm:PutParameter', // userdata/database.sh: the database CA (the EFS mount is granted by the file system's policy)
        'ssm:UpdateInstanceInformation', // the SSM agent: Session Manager
        ...SESSION_CHANNELS,
        'sts:AssumeRole', // userdata/database.sh: the cross-account secret
      ].sort(),
    );
  });

  it('gives the database sidecar the lease item, and fencing and routing only on tagged stage resources', () => {
    // Act
    const db = policyStatements(defaults).filter((s) => s.owner === 'DatabaseInstanceRole');
    const lease = db.find((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
    // Assess
    assert.deepEqual(lease?.actions.sort(), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(lease?.resources, [{ 'Fn::GetAtt': ['LeaseTable', 'Arn'] }]);
    const observe = db.find((s) => s.actions.includes('ec2:DescribeRouteTables'));
    assert.deepEqual(observe?.actions.sort(), ['ec2:DescribeInstances', 'ec2:DescribeRouteTables']);
    assert.deepEqual(observe?.resources, ['*']);
    const stageTags = {
      StringEquals: { 'aws:ResourceTag/cloudy:stage': STAGE, 'aws:ResourceTag/database': 'true' },
    };
    for (const action of ['ec2:StopInstances', 'ec2:CreateRoute', 'ec2:ReplaceRoute']) {
      const statement = db.find((s) => s.actions.includes(action));
      assert.deepEqual(statement?.condition, stageTags, action);
      assert.ok(!statement?.resources.includes('*'), action);
    }
  });
});

describe('logs and access', () => {
  const tiers = [
    ['WebLogGroup', 'web', 'WebInstanceRole', 'WebLaunchTemplate'],
    ['DatabaseLogGroup', 'database', 'DatabaseInstanceRole', 'DatabaseLaunchTemplate'],
  ] as const;

  it("keeps one log group per tier, named after the stage, for the stage's retention", () => {
    for (const [id, tier] of tiers) {
      assert.deepEqual(properties(defaults, id), {
        LogGroupName: `/cloudy/${STAGE}/${tier}`,
        RetentionInDays: 30,
      });
    }
  });

  it("tells each tier's boot script its own log group", () => {
    for (const [id, , , launchTemplate] of tiers) {
      const data = properties(defaults, launchTemplate).LaunchTemplateData as Record<string, unknown>;
      assert.ok(
        JSON.stringify(data.UserData).includes(`{"Fn::Sub":"export LOG_GROUP=\${${id}}\\n"}`),
        launchTemplate,
      );
    }
  });

  it('lets each tier write log events only into its own log group', () => {
    // Act
    const logStatements = policyStatements(defaults).filter((s) =>
      s.actions.some((a) => a.startsWith('logs:')),
    );
    // Assess
    for (const [id, , role] of tiers) {
      const own = logStatements.filter((s) => s.owner === role);
      assert.equal(own.length, 1, role);
      assert.deepEqual(own[0]?.actions.sort(), [
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
      ]);
      assert.deepEqual(own[0]?.resources, [{ 'Fn::GetAtt': [id, 'Arn'] }], role);
    }
  });

  it('reaches every instance through Session Manager, without a bastion or a key', () => {
    for (const [, , role] of tiers) {
      const statements = policyStatements(defaults).filter((s) => s.owner === role);
      const register = statements.find((s) => s.actions.includes('ssm:UpdateInstanceInformation'));
      assert.deepEqual(register?.resources, [
        { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' },
      ]);
      const channels = statements.find((s) => s.actions.includes('ssmmessages:OpenDataChannel'));
      assert.deepEqual(channels?.actions.sort(), [...SESSION_CHANNELS].sort(), role);
    }
    assert.equal(defaults.Resources.Bastion, undefined);
  });
});

describe('the Lambda packages', () => {
  // Measured when each function got its own minified zip without source maps (docs/DEPLOY.md, "Packaging"): api
  // 0.88 MB (2.7 MB unpacked), databaseFailover 0.61 MB (2.2 MB); the one zip before held both bundles and their
  // maps, 5.4 MB (24 MB unpacked). The bounds leave room for growth, not for a map or another function's bundle.
  const LIMITS: Record<string, { zip: number; unpacked: number; bundle: string }> = {
    'api.zip': { zip: 1_500_000, unpacked: 4_000_000, bundle: 'handlers/api.mjs' },
    'databaseFailover.zip': { zip: 1_200_000, unpacked: 3_500_000, bundle: 'handlers/database-failover.mjs' },
  };

  it('gives each function its own zip with only its own bundle: no source map, no other function', () => {
    // Assess
    assert.deepEqual(Object.keys(defaultZips).sort(), Object.keys(LIMITS).sort());
    for (const [file, { entries }] of Object.entries(defaultZips)) {
      assert.deepEqual(
        entries.map((entry) => entry.name),
        [LIMITS[file]?.bundle],
        file,
      );
    }
    const artifacts = resourcesOfType(defaults, 'AWS::Lambda::Function').map(([, fn]) =>
      String((fn.Properties?.Code as { S3Key?: string } | undefined)?.S3Key)
        .split('/')
        .at(-1),
    );
    assert.deepEqual(artifacts.sort(), Object.keys(LIMITS).sort());
  });

  it('keeps each zip small: minified, within its size', () => {
    // Assess
    for (const [file, { bytes, entries }] of Object.entries(defaultZips)) {
      const limit = LIMITS[file];
      assert.ok(limit, file);
      const unpacked = entries.reduce((sum, entry) => sum + entry.size, 0);
      assert.ok(bytes <= limit.zip, `${file}: ${bytes} bytes zipped, at most ${limit.zip}`);
      assert.ok(unpacked <= limit.unpacked, `${file}: ${unpacked} bytes unpacked, at most ${limit.unpacked}`);
    }
  });

  it('starts the functions without --enable-source-maps (it made the cold import about 45 % slower)', () => {
    // Assess
    for (const [id, fn] of resourcesOfType(defaults, 'AWS::Lambda::Function')) {
      const variables =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
      assert.equal(variables.NODE_OPTIONS, undefined, id);
    }
  });
});

describe('dashboard and alarms', () => {
  // The alarms that reach a person (docs/OPERATIONS.md, one section each); the others drive scaling.
  const NOTIFYING = [
    'NoHealthyPrimaryAlarm',
    'RouteChangeAlarm',
    'Alb5xxRateAlarm',
    'UnhealthyWebHostsAlarm',
    'DatabaseInstancesAlarm',
    'LeaseRenewalFailuresAlarm',
    'WalArchiveLagAlarm',
    'BaseBackupMissingAlarm',
  ];
  const topic = ref('AlarmTopic');

  it('draws only metrics that something in the stack emits', () => {
    for (const [name, template] of bothTemplates()) {
      const emitted = emittedMetrics(template);
      const drawn = dashboardWidgets(template, 'Dashboard').flatMap(widgetMetrics);
      assert.ok(drawn.length >= 20, `${name}: ${drawn.length} metrics drawn`);
      const nobodyWrites = drawn.filter((metric) => !isEmitted(metric, emitted)).map(describeMetric);
      assert.deepEqual(nobodyWrites, [], name);
    }
  });

  it('alarms only on metrics that something in the stack emits', () => {
    for (const [name, template] of bothTemplates()) {
      const emitted = emittedMetrics(template);
      for (const [id] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
        const nobodyWrites = alarmMetrics(template, id).filter((m) => !isEmitted(m, emitted));
        assert.deepEqual(nobodyWrites.map(describeMetric), [], `${name}: ${id}`);
      }
    }
  });

  it("sends every alarm that is not a scaling trigger to the stage's topic, and its return to OK", () => {
    for (const [name, template] of bothTemplates()) {
      const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm');
      const scaling = alarms.filter(([, alarm]) =>
        ((alarm.Properties?.AlarmActions as unknown[]) ?? []).every((action) =>
          ['WebScaleUpPolicy', 'WebScaleDownPolicy'].includes(String((action as { Ref?: string }).Ref)),
        ),
      );
      assert.deepEqual(
        scaling.map(([id]) => id),
        ['WebCpuHighAlarm', 'WebCpuLowAlarm'],
        name,
      );
      const notifying = alarms.filter((alarm) => !scaling.includes(alarm));
      const perFunction = lambdaAlarms(template).flatMap((fn) => fn.alarms);
      assert.deepEqual(notifying.map(([id]) => id).sort(), [...NOTIFYING, ...perFunction].sort(), name);
      for (const [id, alarm] of notifying) {
        assert.deepEqual(alarm.Properties?.AlarmActions, [topic], `${name}: ${id}`);
        assert.deepEqual(alarm.Properties?.OKActions, [topic], `${name}: ${id}`);
      }
      // The dashboard's alarm widget shows each of them.
      const shown = dashboardWidgets(template, 'Dashboard')
        .filter((widget) => widget.type === 'alarm')
        .flatMap((widget) => widget.properties.alarms as string[]);
      assert.deepEqual(shown.sort(), NOTIFYING.map((id) => `<<GetAtt:${id}.Arn>>`).sort(), name);
    }
  });

  it("alarms on each function's errors, throttles and a run near its timeout", () => {
    // Act / Assess
    for (const [name, template] of bothTemplates()) {
      const functions = lambdaAlarms(template);
      assert.deepEqual(
        functions.map((fn) => fn.functionId).sort(),
        ['ApiLambdaFunction', 'DatabaseFailoverLambdaFunction'],
        name,
      );
      for (const { functionId, timeout, alarms } of functions) {
        const [errors, throttles, duration] = alarms.map((id) => properties(template, id));
        for (const alarm of [errors, throttles, duration]) {
          assert.deepEqual(alarm?.Dimensions, [{ Name: 'FunctionName', Value: ref(functionId) }], functionId);
          assert.equal(alarm?.Namespace, 'AWS/Lambda');
        }
        assert.deepEqual([errors?.MetricName, errors?.Statistic, errors?.Threshold], ['Errors', 'Sum', 1]);
        assert.deepEqual(
          [throttles?.MetricName, throttles?.Statistic, throttles?.Threshold],
          ['Throttles', 'Sum', 1],
        );
        assert.deepEqual(
          [duration?.MetricName, duration?.Statistic, duration?.Threshold],
          ['Duration', 'Maximum', timeout * 1000 * 0.9],
          `${functionId}: 90 % of its ${timeout} s timeout`,
        );
      }
    }
  });

  it('draws the web CPU against the thresholds the scaling alarms use', () => {
    // Act
    const cpu = dashboardWidgets(defaults, 'Dashboard').find((widget) =>
      widgetMetrics(widget).some((m) => m.namespace === 'AWS/EC2' && m.name === 'CPUUtilization'),
    );
    // Assess
    assert.ok(cpu, 'a widget draws the web CPU');
    const lines = (cpu.properties.annotations as { horizontal: { value: number }[] }).horizontal;
    assert.deepEqual(
      lines.map((line) => line.value),
      ['WebCpuHighAlarm', 'WebCpuLowAlarm'].map((id) => Number(properties(defaults, id).Threshold)),
    );
  });

  it('alarms on fewer database instances in service than the group should have', () => {
    // Act
    const alarm = properties(defaults, 'DatabaseInstancesAlarm');
    // Assess
    assert.equal(
      Number(alarm.Threshold),
      Number(properties(defaults, 'DatabaseAutoScalingGroup').DesiredCapacity),
    );
    assert.equal(alarm.ComparisonOperator, 'LessThanThreshold');
  });

  it('encrypts the topic with a key of its own that CloudWatch may use for this stage alarms only', () => {
    assert.deepEqual(properties(defaults, 'AlarmTopic').KmsMasterKeyId, ref('AlarmTopicKey'));
    const key = properties(defaults, 'AlarmTopicKey');
    assert.equal(key.EnableKeyRotation, true);
    const statements = (key.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    const forCloudWatch = statements.filter(
      (statement) => (statement.Principal as { Service?: string }).Service === 'cloudwatch.amazonaws.com',
    );
    assert.equal(forCloudWatch.length, 1);
    assert.deepEqual(forCloudWatch[0]?.Action, ['kms:Decrypt', 'kms:GenerateDataKey*']);
    const sourceArn = JSON.stringify(forCloudWatch[0]?.Condition);
    assert.match(sourceArn, new RegExp(`:alarm:cloudy-${STAGE}-\\*`));
    for (const [id] of NOTIFYING.map((alarmId) => [alarmId])) {
      assert.ok(
        String(properties(defaults, String(id)).AlarmName).startsWith(`cloudy-${STAGE}-`),
        String(id),
      );
    }
  });

  it('subscribes the alarmEmail address to the topic only when the stage names one', () => {
    assert.deepEqual(resourcesOfType(defaults, 'AWS::SNS::Subscription'), []);
    const subscriptions = resourcesOfType(allOptions, 'AWS::SNS::Subscription');
    assert.deepEqual(
      subscriptions.map(([, subscription]) => subscription.Properties),
      [{ TopicArn: topic, Protocol: 'email', Endpoint: ALL_OPTIONS.alarmEmail }],
    );
  });
});

describe('outputs', () => {
  it('publish the ALB URL, VPC, subnets, EFS, bastion and route tables', () => {
    for (const name of [
      'LoadBalancerUrl',
      'VpcId',
      'PublicSubnetIds',
      'PrivateSubnetIds',
      'FileSystemId',
      'BastionAddress',
      'PublicRouteTableId',
      'PrivateRouteTableId',
      'LeaseTableName',
      'AlarmTopicArn',
      'DashboardName',
    ]) {
      assert.ok(allOptions.Outputs?.[name], name);
    }
    assert.deepEqual(defaults.Outputs?.LoadBalancerUrl?.Value, {
      'Fn::Sub': 'http://${LoadBalancer.DNSName}:8080',
    });
  });
});
