// The databaseEngine stage option, tested as template data: `instances` (the default, checked in detail by
// template.test.ts) and `aurora`, packaged with its defaults and with every aurora option away from its default.
// Each mode must hold its own database tier and none of the other's.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  loadResourceSpec,
  type ResourceSpec,
  validateTemplate,
} from '../../support/cloudformation/resource-spec';
import { admitsPort, ingressRules, policyStatements } from '../../support/cloudformation/security-queries';
import { packageTemplate } from '../../support/cloudformation/serverless-package';
import {
  isRecord,
  properties,
  ref,
  resource,
  resourcesOfType,
  type Template,
} from '../../support/cloudformation/template';

const STAGE = 'ci';
const AURORA_OPTIONS = {
  databaseEngine: 'aurora',
  databaseBackupRetentionDays: '14',
  auroraEngineVersion: '17.4',
  auroraEngineMajorVersion: '17',
  auroraInstanceClass: 'db.serverless',
  auroraMinCapacity: '1',
  auroraMaxCapacity: '8',
  auroraMasterUsername: 'operator',
  // The EC2 API endpoint serves only the instance tier's fencing and promotion (a separate stage option).
  ec2Endpoint: 'false',
};

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

  it('runs an encrypted, deletion-protected Aurora PostgreSQL cluster that snapshots when deleted or replaced', () => {
    // Act / Assess
    for (const template of auroraTemplates()) {
      const cluster = resource(template, 'DatabaseCluster');
      assert.equal(cluster.Type, 'AWS::RDS::DBCluster');
      assert.equal(cluster.DeletionPolicy, 'Snapshot');
      assert.equal(cluster.UpdateReplacePolicy, 'Snapshot');
      const props = cluster.Properties ?? {};
      assert.equal(props.Engine, 'aurora-postgresql');
      assert.equal(props.StorageEncrypted, true);
      assert.equal(props.DeletionProtection, true);
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
    assert.equal(Number(properties(aurora, 'DatabaseCluster').BackupRetentionPeriod), 7);
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
        resourcesOfType(template, 'AWS::Lambda::Function').map(([id]) => id),
        ['ApiLambdaFunction'],
      );
      assert.deepEqual(
        resourcesOfType(template, 'AWS::IAM::Role')
          .map(([id]) => id)
          .sort(),
        ['ApiFunctionRole', 'WebInstanceRole'],
      );
      for (const id of ['EfsSecurityGroup', 'EfsFromDatabaseIngress', 'DatabaseFailoverStateChangeRule']) {
        assert.equal(template.Resources[id], undefined, `${id} is absent`);
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
    assert.equal(auroraFlipped.Resources.Ec2Endpoint, undefined);
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
  });
});
