// The databaseEngine stage option, tested as template data: `instances` (the default, checked in detail by
// template.test.ts) and `aurora`, packaged with its defaults and with every aurora option away from its default.
// Each mode must hold its own database tier and none of the other's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
import { admitsPort, ingressRules, policyStatements } from '../../support/cloudformation/security-queries';
import { packageTemplate } from '../../support/cloudformation/serverless-package';
import { AURORA_OPTIONS } from '../../support/cloudformation/stage-variants';
import {
  isRecord,
  properties,
  ref,
  resource,
  resourcesOfType,
  type Template,
} from '../../support/cloudformation/template';

const STAGE = 'ci';
const repositoryRoot = resolve(import.meta.dirname, '../../..');

let instances: Template;
let aurora: Template; // databaseEngine=aurora, every other option at its default
let auroraFlipped: Template; // every aurora option away from its default
let spec: ResourceSpec;

before(async () => {
  const specLoading = loadResourceSpec();
  // One after the other: the runs share serverless-esbuild's work folder.
  instances = await packageTemplate({ stage: STAGE });
  aurora = await packageTemplate({ stage: STAGE, params: { databaseEngine: 'aurora' } });
  auroraFlipped = await packageTemplate({ stage: STAGE, params: AURORA_OPTIONS });
  spec = await specLoading;
});

const auroraTemplates = () => [aurora, auroraFlipped];
const typesOf = (template: Template) => new Set(Object.values(template.Resources).map((r) => r.Type));
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

const apiEnvironment = (template: Template) =>
  (properties(template, 'ApiLambdaFunction').Environment as { Variables: Record<string, unknown> }).Variables;

/** The value of a plain `export NAME=value` line of a launch template's user data. */
function exportedLine(template: Template, launchTemplateId: string, name: string): string {
  const data = properties(template, launchTemplateId).LaunchTemplateData as Record<string, unknown>;
  const parts = ((data.UserData as Record<string, Record<string, unknown[]>>)['Fn::Base64']?.[
    'Fn::Join'
  ]?.[1] ?? []) as unknown[];
  const line = parts.find((part) => typeof part === 'string' && part.startsWith(`export ${name}=`));
  if (typeof line !== 'string') throw new Error(`${launchTemplateId} exports no plain ${name}`);
  return line.slice(`export ${name}=`.length).trimEnd();
}

/** The value a launch template's user data exports for `name` (the piece after `export NAME=`). */
function exportedValue(template: Template, launchTemplateId: string, name: string): unknown {
  const data = properties(template, launchTemplateId).LaunchTemplateData as Record<string, unknown>;
  const parts = ((data.UserData as Record<string, Record<string, unknown[]>>)['Fn::Base64']?.[
    'Fn::Join'
  ]?.[1] ?? []) as unknown[];
  for (const part of parts) {
    if (!isRecord(part) || !Array.isArray(part['Fn::Join'])) continue;
    const [, pieces] = part['Fn::Join'] as [string, unknown[]];
    if (pieces[0] === `export ${name}=`) return pieces[1];
  }
  throw new Error(`${launchTemplateId} exports no ${name}`);
}

describe('databaseEngine: aurora', () => {
  it('writes templates that fit the CloudFormation resource specification', () => {
    // Act / Assess
    assert.deepEqual(validateTemplate(aurora, spec), []);
    assert.deepEqual(validateTemplate(auroraFlipped, spec), []);
  });

  it('runs an encrypted Aurora PostgreSQL cluster that snapshots when deleted or replaced, and that a rollback can delete', () => {
    // Act / Assess
    for (const template of auroraTemplates()) {
      const cluster = resource(template, 'DatabaseCluster');
      assert.equal(cluster.Type, 'AWS::RDS::DBCluster');
      assert.equal(cluster.DeletionPolicy, 'Snapshot');
      assert.equal(cluster.UpdateReplacePolicy, 'Snapshot');
      const props = cluster.Properties ?? {};
      assert.equal(props.Engine, 'aurora-postgresql');
      assert.equal(props.StorageEncrypted, true);
      // Deletion protection would turn a failed create into ROLLBACK_FAILED with a billed cluster.
      assert.equal(props.DeletionProtection, false);
      assert.equal(props.PubliclyAccessible, undefined, 'a cluster has no public flag; its instances do');
      assert.deepEqual(props.VpcSecurityGroupIds, [ref('DatabaseSecurityGroup')]);
      assert.deepEqual(props.DBSubnetGroupName, ref('DatabaseSubnetGroup'));
      assert.deepEqual(properties(template, 'DatabaseSubnetGroup').SubnetIds, [
        ref('PrivateSubnetA'),
        ref('PrivateSubnetB'),
      ]);
      // RDS generates, keeps and rotates the administrator's password: none is written in the template.
      assert.equal(props.ManageMasterUserPassword, true);
      assert.equal(props.MasterUserPassword, undefined);
    }
    // --param values arrive as strings, the defaults as numbers: CloudFormation takes either.
    // The instance tier's parameter (its AWS Backup plan keeps recovery points as long).
    assert.equal(Number(properties(aurora, 'DatabaseCluster').BackupRetentionPeriod), 35);
    assert.equal(
      Number(
        (
          properties(instances, 'DatabaseBackupPlan').BackupPlan as {
            BackupPlanRule: { Lifecycle: { DeleteAfterDays: unknown } }[];
          }
        ).BackupPlanRule[0]?.Lifecycle.DeleteAfterDays,
      ),
      35,
    );
    assert.equal(Number(properties(auroraFlipped, 'DatabaseCluster').BackupRetentionPeriod), 14);
    assert.equal(properties(auroraFlipped, 'DatabaseCluster').MasterUsername, 'operator');
  });

  it('requires TLS on every connection, in the parameter group of the engine version it runs', () => {
    // Act / Assess
    for (const [template, version, family] of [
      [aurora, '16.6', 'aurora-postgresql16'],
      [auroraFlipped, '17.4', 'aurora-postgresql17'],
    ] as const) {
      const cluster = properties(template, 'DatabaseCluster');
      assert.equal(cluster.EngineVersion, version);
      assert.deepEqual(cluster.DBClusterParameterGroupName, ref('DatabaseClusterParameterGroup'));
      const group = properties(template, 'DatabaseClusterParameterGroup');
      assert.equal(group.Family, family);
      assert.equal(String(version).split('.')[0], String(family).replace('aurora-postgresql', ''));
      assert.equal((group.Parameters as Record<string, unknown>)['rds.force_ssl'], '1');
    }
  });

  it('puts the writer in the first AZ and a reader, created after it, in the second', () => {
    // Act / Assess
    for (const template of auroraTemplates()) {
      const instancesOfCluster = resourcesOfType(template, 'AWS::RDS::DBInstance');
      assert.deepEqual(instancesOfCluster.map(([id]) => id).sort(), [
        'DatabaseReaderInstance',
        'DatabaseWriterInstance',
      ]);
      for (const [id, index] of [
        ['DatabaseWriterInstance', 0],
        ['DatabaseReaderInstance', 1],
      ] as const) {
        const props = properties(template, id);
        assert.deepEqual(props.DBClusterIdentifier, ref('DatabaseCluster'));
        assert.deepEqual(props.AvailabilityZone, { 'Fn::Select': [index, { 'Fn::GetAZs': '' }] });
        assert.equal(props.PubliclyAccessible, false);
      }
      assert.deepEqual([resource(template, 'DatabaseReaderInstance').DependsOn].flat(), [
        'DatabaseWriterInstance',
      ]);
    }
  });

  it('takes the instance class, or Serverless v2 and its capacity range, from the stage', () => {
    // Act / Assess
    for (const id of ['DatabaseWriterInstance', 'DatabaseReaderInstance']) {
      assert.equal(properties(aurora, id).DBInstanceClass, 'db.t4g.medium');
      assert.equal(properties(auroraFlipped, id).DBInstanceClass, 'db.serverless');
    }
    const capacity = (template: Template) => {
      const range = properties(template, 'DatabaseCluster').ServerlessV2ScalingConfiguration as Record<
        string,
        unknown
      >;
      return [Number(range.MinCapacity), Number(range.MaxCapacity)];
    };
    assert.deepEqual(capacity(aurora), [0.5, 4]);
    assert.deepEqual(capacity(auroraFlipped), [1, 8]);
  });

  it('deploys none of the instance tier: no database group, EFS, lease table, failover function or its rules', () => {
    // Act / Assess
    for (const template of auroraTemplates()) {
      const types = typesOf(template);
      for (const type of ['AWS::EFS::FileSystem', 'AWS::EFS::MountTarget', 'AWS::DynamoDB::Table']) {
        assert.ok(!types.has(type), `${type} is absent`);
      }
      // The api function's ALB target is its only trigger: no schedule, no EC2 state-change rule.
      assert.deepEqual(resourcesOfType(template, 'AWS::Events::Rule'), []);
      assert.deepEqual(
        resourcesOfType(template, 'AWS::AutoScaling::AutoScalingGroup').map(([id]) => id),
        ['WebAutoScalingGroup'],
      );
      assert.deepEqual(
        resourcesOfType(template, 'AWS::EC2::LaunchTemplate').map(([id]) => id),
        ['WebLaunchTemplate'],
      );
      assert.deepEqual(
        resourcesOfType(template, 'AWS::Lambda::Function')
          .map(([id]) => id)
          .sort(),
        ['ApiLambdaFunction', 'DatabaseBootstrapLambdaFunction'],
      );
      assert.deepEqual(
        resourcesOfType(template, 'AWS::IAM::Role')
          .map(([id]) => id)
          .sort(),
        ['ApiFunctionRole', 'DatabaseBootstrapRole', 'WebInstanceRole'],
      );
      for (const id of [
        'EfsSecurityGroup',
        'EfsFromDatabaseIngress',
        'DatabaseFailoverStateChangeRule',
        'DatabaseLogGroup',
        'DatabaseBackupVault',
        'DynamoDbEndpoint',
        'DatabaseCaReadersPolicy',
      ]) {
        assert.equal(template.Resources[id], undefined, `${id} is absent`);
      }
      // The virtual IP and the CA parameter the database instances publish are nowhere, not even in a setting.
      const text = JSON.stringify(template);
      assert.ok(!text.includes('10.10.10.10'), 'no virtual IP');
      assert.ok(!text.includes('database-ca-certificate'), 'no CA parameter');
      // The route tables carry no virtual-IP route, so nothing tags them for the failover controller.
      for (const id of ['PublicRouteTable', 'PrivateRouteTable']) {
        const tags = properties(template, id).Tags as { Key: string }[];
        assert.ok(!tags.some((tag) => tag.Key === 'database'), id);
      }
      const outputs = Object.keys(template.Outputs ?? {});
      for (const output of [
        'FileSystemId',
        'LeaseTableName',
        'DatabaseAutoScalingGroupName',
        'VirtualIp',
        'DatabaseFailoverFunctionName',
      ]) {
        assert.ok(!outputs.includes(output), `${output} is absent`);
      }
      // Nothing may move a route, stop an instance or touch a lease: those are the instance tier's powers.
      const actions = policyStatements(template).flatMap((statement) => statement.actions);
      for (const action of actions) {
        assert.ok(!/^(ec2:|dynamodb:|elasticfilesystem:)/.test(action), `${action} is not granted`);
      }
    }
  });

  it('opens nothing for database instances: no EC2 endpoint, no SSH from the bastion, no NAT rule', () => {
    // The default aurora stage keeps ec2Endpoint at its default, true: the endpoint is left out all the same.
    for (const template of auroraTemplates()) {
      assert.deepEqual(
        resourcesOfType(template, 'AWS::EC2::VPCEndpoint').map(([id]) => id),
        ['S3Endpoint'],
      );
      assert.equal(template.Resources.Ec2EndpointSecurityGroup, undefined);
      const fromDatabase = ingressRules(template).filter(
        (rule) => rule.sourceGroup === 'DatabaseSecurityGroup',
      );
      assert.deepEqual(fromDatabase, [], 'no group admits the database group');
      const sshIntoDatabase = ingressRules(template).filter(
        (rule) => rule.group === 'DatabaseSecurityGroup' && admitsPort(rule, 22),
      );
      assert.deepEqual(sshIntoDatabase, []);
    }
    // With a bastion (adminCidr set) it still reaches the web instances only.
    assert.equal(resource(auroraFlipped, 'Bastion').Type, 'AWS::EC2::Instance');
    assert.equal(auroraFlipped.Resources.DatabaseFromBastionSsh, undefined);
    assert.ok(auroraFlipped.Resources.WebFromBastionSsh);
    assert.match(String(properties(aurora, 'DatabaseSecurityGroup').GroupDescription), /Aurora cluster/);
  });

  it("verifies the cluster against the RDS CAs: the AMI's bundle on the web instances, the runtime's file in Lambda", () => {
    const bake = readFileSync(resolve(repositoryRoot, 'userdata/bake-ami.sh'), 'utf8');
    const boot = readFileSync(resolve(repositoryRoot, 'userdata/webserver.sh'), 'utf8');
    const baked = /^RDS_CA_BUNDLE=\$ROOT(\S+)$/m.exec(bake)?.[1];
    assert.equal(baked, '/opt/cloudy/rds-ca/global-bundle.pem');
    // The web boot checks it as part of the AMI contract.
    assert.match(boot, new RegExp(`^RDS_CA_BUNDLE=${baked}$`, 'm'));
    for (const template of auroraTemplates()) {
      assert.equal(exportedLine(template, 'WebLaunchTemplate', 'DB_CA_FILE'), baked);
      assert.equal(exportedLine(template, 'WebLaunchTemplate', 'DB_CA_PARAMETER'), '');
      const env = apiEnvironment(template);
      assert.equal(env.DB_CA_FILE, '/var/runtime/ca-cert.pem');
      assert.equal(env.DB_CA_PARAMETER, '');
      // No SSM read at all: the CA is a file.
      const actions = policyStatements(template).flatMap((statement) => statement.actions);
      assert.ok(!actions.some((action) => /^ssm:(Get|Put)Parameter/.test(action)), actions.join());
    }
  });

  it("creates the app's role in the cluster before the web tier starts, with the secrets account's password", () => {
    for (const template of auroraTemplates()) {
      const role = resource(template, 'DatabaseAppRole');
      assert.equal(role.Type, 'Custom::DatabaseAppRole');
      assert.deepEqual([role.DependsOn].flat(), ['DatabaseWriterInstance', 'PrivateDefaultRoute']);
      const props = role.Properties ?? {};
      assert.deepEqual(props.ServiceToken, getAtt('DatabaseBootstrapLambdaFunction', 'Arn'));
      // CloudFormation stops waiting after 120 s (its default is an hour) if the function could not answer.
      assert.equal(props.ServiceTimeout, 120);
      assert.deepEqual(props.WriterHost, getAtt('DatabaseCluster', 'Endpoint.Address'));
      assert.deepEqual(props.Port, getAtt('DatabaseCluster', 'Endpoint.Port'));
      assert.deepEqual(props.MasterSecretArn, getAtt('DatabaseCluster', 'MasterUserSecret.SecretArn'));
      const env = apiEnvironment(template);
      assert.deepEqual(
        [props.SecretRoleArn, props.SecretId, props.SecretRegion],
        [env.DB_SECRET_ROLE_ARN, env.DB_SECRET_ID, env.DB_SECRET_REGION],
      );
      assert.deepEqual([resource(template, 'WebAutoScalingGroup').DependsOn].flat().sort(), [
        'DatabaseAppRole',
        'DatabaseWriterInstance',
      ]);
      // The function: in the private subnets, in the api function's group (the cluster admits no other), with
      // the runtime's CA file, and a role that reads the two secrets and nothing else.
      const fn = properties(template, 'DatabaseBootstrapLambdaFunction');
      assert.deepEqual(fn.VpcConfig, {
        SecurityGroupIds: [ref('ApiSecurityGroup')],
        SubnetIds: [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
      });
      assert.equal(
        (fn.Environment as { Variables: Record<string, unknown> }).Variables.DB_CA_FILE,
        '/var/runtime/ca-cert.pem',
      );
      assert.deepEqual(fn.Role, getAtt('DatabaseBootstrapRole', 'Arn'));
      const statements = policyStatements(template)
        .filter((statement) => statement.owner === 'DatabaseBootstrapRole')
        .map((statement) => [statement.actions, statement.resources]);
      assert.deepEqual(statements, [
        [['sts:AssumeRole'], [env.DB_SECRET_ROLE_ARN]],
        [['secretsmanager:GetSecretValue'], [getAtt('DatabaseCluster', 'MasterUserSecret.SecretArn')]],
      ]);
    }
  });

  it('admits PostgreSQL to the cluster from the web instances and the api function only', () => {
    // Act / Assess
    for (const template of auroraTemplates()) {
      const intoDatabase = ingressRules(template).filter((rule) => rule.group === 'DatabaseSecurityGroup');
      assert.deepEqual(
        intoDatabase.map((rule) => [rule.protocol, rule.fromPort, rule.toPort, rule.sourceGroup]).sort(),
        [
          ['tcp', 5432, 5432, 'ApiSecurityGroup'],
          ['tcp', 5432, 5432, 'WebSecurityGroup'],
        ],
      );
      const anyPostgres = ingressRules(template).filter((rule) => admitsPort(rule, 5432));
      assert.ok(anyPostgres.every((rule) => rule.group === 'DatabaseSecurityGroup' && !rule.cidr));
    }
  });

  it("tells the web instances and the api function the cluster's writer and reader endpoints", () => {
    // Act / Assess
    for (const template of auroraTemplates()) {
      assert.deepEqual(
        exportedValue(template, 'WebLaunchTemplate', 'DB_WRITER_HOST'),
        getAtt('DatabaseCluster', 'Endpoint.Address'),
      );
      assert.deepEqual(
        exportedValue(template, 'WebLaunchTemplate', 'DB_READER_HOST'),
        getAtt('DatabaseCluster', 'ReadEndpoint.Address'),
      );
      const env = apiEnvironment(template);
      assert.deepEqual(env.DB_WRITER_HOST, getAtt('DatabaseCluster', 'Endpoint.Address'));
      assert.deepEqual(env.DB_READER_HOST, getAtt('DatabaseCluster', 'ReadEndpoint.Address'));
      // The password still comes from the secrets account, through the same role as with the instance tier.
      for (const key of ['DB_SECRET_ROLE_ARN', 'DB_SECRET_ID', 'DB_SECRET_REGION']) {
        assert.deepEqual(env[key], apiEnvironment(instances)[key]);
      }
      const outputs = template.Outputs ?? {};
      assert.deepEqual(outputs.DatabaseWriterEndpoint?.Value, getAtt('DatabaseCluster', 'Endpoint.Address'));
      assert.deepEqual(
        outputs.DatabaseReaderEndpoint?.Value,
        getAtt('DatabaseCluster', 'ReadEndpoint.Address'),
      );
      assert.deepEqual(
        outputs.DatabaseMasterSecretArn?.Value,
        getAtt('DatabaseCluster', 'MasterUserSecret.SecretArn'),
      );
    }
  });
});

describe('databaseEngine: aurora, dashboard and alarms', () => {
  const NOTIFYING = [
    'DatabaseWriterUnavailableAlarm',
    'DatabaseNoReaderAlarm',
    'DatabaseReplicaLagAlarm',
    'DatabaseWriterCpuAlarm',
    'DatabaseWriterMemoryAlarm',
    'Alb5xxRateAlarm',
    'UnhealthyWebHostsAlarm',
  ];

  it('draws and alarms only on metrics Aurora, the ALB and the web tier emit', () => {
    for (const template of auroraTemplates()) {
      const emitted = emittedMetrics(template);
      const drawn = dashboardWidgets(template, 'Dashboard').flatMap(widgetMetrics);
      assert.ok(drawn.filter((metric) => metric.namespace === 'AWS/RDS').length >= 10);
      assert.deepEqual(drawn.filter((metric) => !isEmitted(metric, emitted)).map(describeMetric), []);
      for (const [id] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
        const nobodyWrites = alarmMetrics(template, id).filter((metric) => !isEmitted(metric, emitted));
        assert.deepEqual(nobodyWrites.map(describeMetric), [], id);
      }
    }
  });

  it("watches the cluster by role (the writer changes on failover), and sends every alarm to the stage's topic", () => {
    for (const template of auroraTemplates()) {
      const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(
        ([id]) => !['WebCpuHighAlarm', 'WebCpuLowAlarm'].includes(id),
      );
      const functions = lambdaAlarms(template);
      assert.deepEqual(functions.map((fn) => fn.functionId).sort(), [
        'ApiLambdaFunction',
        'DatabaseBootstrapLambdaFunction',
      ]);
      const perFunction = functions.flatMap((fn) => fn.alarms);
      assert.deepEqual(alarms.map(([id]) => id).sort(), [...NOTIFYING, ...perFunction].sort());
      for (const [id, alarm] of alarms) {
        assert.deepEqual(alarm.Properties?.AlarmActions, [ref('AlarmTopic')], id);
        assert.deepEqual(alarm.Properties?.OKActions, [ref('AlarmTopic')], id);
        for (const metric of alarmMetrics(template, id).filter((m) => m.namespace === 'AWS/RDS')) {
          assert.deepEqual(Object.keys(metric.dimensions).sort(), ['DBClusterIdentifier', 'Role'], id);
        }
      }
      // No writer or no reader is what missing data means: those two alarms count it as breaching.
      for (const id of ['DatabaseWriterUnavailableAlarm', 'DatabaseNoReaderAlarm']) {
        assert.equal(properties(template, id).TreatMissingData, 'breaching', id);
      }
      const shown = dashboardWidgets(template, 'Dashboard')
        .filter((widget) => widget.type === 'alarm')
        .flatMap((widget) => widget.properties.alarms as string[]);
      assert.deepEqual(shown.sort(), NOTIFYING.map((id) => `<<GetAtt:${id}.Arn>>`).sort());
    }
    assert.deepEqual(resourcesOfType(aurora, 'AWS::SNS::Subscription'), []);
    assert.deepEqual(
      resourcesOfType(auroraFlipped, 'AWS::SNS::Subscription').map(
        ([, subscription]) => subscription.Properties,
      ),
      [{ TopicArn: ref('AlarmTopic'), Protocol: 'email', Endpoint: 'ops@example.com' }],
    );
  });
});

describe('databaseEngine: instances (the default)', () => {
  it('deploys no Aurora resource, and the failover controller with its trigger', () => {
    // Act
    const rds = [...typesOf(instances)].filter((type) => type.startsWith('AWS::RDS::'));
    // Assess
    assert.deepEqual(rds, []);
    assert.equal(resource(instances, 'DatabaseFailoverLambdaFunction').Type, 'AWS::Lambda::Function');
    assert.equal(resource(instances, 'DatabaseFailoverStateChangeRule').Type, 'AWS::Events::Rule');
    assert.equal(resource(instances, 'EfsSecurityGroup').Type, 'AWS::EC2::SecurityGroup');
    assert.equal(exportedValue(instances, 'WebLaunchTemplate', 'DB_READER_HOST'), '');
    assert.equal(instances.Resources.DatabaseBootstrapLambdaFunction, undefined);
    assert.equal(instances.Resources.DatabaseAppRole, undefined);
  });
});
