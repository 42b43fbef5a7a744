// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation and IAM variables, not JavaScript templates
// Issue 14 as template data: least privilege (the self-only ModifyInstanceAttribute, IMDS hops, the CA parameter),
// bounded public work (reserved concurrency, the connection budget, the optional WAF rule), encryption (EBS, EFS
// in transit), nothing lost on `sls remove` (retained EFS and vault, backups, lease PITR and no-delete), and the
// optional app authentication. `sls package` runs twice, offline: the defaults, and the options switched on.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HEARTBEAT_TTL_ATTRIBUTE } from '../../../shared/lease-table/lease-item';
import { loadResourceSpec, validateTemplate } from '../../support/cloudformation/resource-spec';
import { policyStatements } from '../../support/cloudformation/security-queries';
import { packageTemplate } from '../../support/cloudformation/serverless-package';
import {
  properties,
  ref,
  resource,
  resourcesOfType,
  type Template,
} from '../../support/cloudformation/template';

const STAGE = 'ci';
const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example';
const OPTIONS = {
  waf: 'on',
  wafRateLimit: '500',
  backupRetentionDays: '14',
  authIssuer: ISSUER,
  authAudience: 'cloudy-api',
  adminCidr: '203.0.113.7/32',
};
const CA_PARAMETER_ARN = {
  'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/cloudy/${STAGE}/database-ca-certificate`,
};

let defaults: Template;
let options: Template;

before(async () => {
  const spec = loadResourceSpec();
  // One after the other: both runs share serverless-esbuild's work folder.
  defaults = await packageTemplate({ stage: STAGE });
  options = await packageTemplate({ stage: STAGE, params: OPTIONS });
  assert.deepEqual(validateTemplate(defaults, await spec), []);
  assert.deepEqual(validateTemplate(options, await spec), []);
});

/** The plain `export NAME=value` lines at the start of a launch template's user data. */
function userDataExports(template: Template, launchTemplateId: string): Record<string, string> {
  const data = properties(template, launchTemplateId).LaunchTemplateData as Record<string, unknown>;
  const join = (data.UserData as Record<string, Record<string, unknown>>)['Fn::Base64']?.['Fn::Join'];
  const parts = (Array.isArray(join) ? join[1] : []) as unknown[];
  const exports: Record<string, string> = {};
  for (const part of parts) {
    const match = typeof part === 'string' ? /^export ([A-Z_]+)=(.*)\n$/.exec(part) : null;
    if (match?.[1]) exports[match[1]] = match[2] ?? '';
  }
  return exports;
}

const launchTemplateData = (template: Template, id: string) =>
  properties(template, id).LaunchTemplateData as Record<string, unknown>;

/** PostgreSQL's superuser_reserved_connections, which the first initialisation leaves at its default. */
const SUPERUSER_RESERVED = 3;
/** The sidecar's readiness probe holds at most one connection at a time (ec2/sidecar/postgres/readiness.ts). */
const SIDECAR = 1;
/** Operators (`npm run db -- status`, psql during maintenance) and the odd half-closed connection. */
const HEADROOM = 5;

/**
 * The connection budget of docs/DATABASE-TIER.md from the numbers the template configures: every web process
 * of every instance a rolling update can run holds its pool, every api invocation its pool of one plus, on a
 * cold start, the migration lock's connection.
 */
function connectionBudget(template: Template) {
  const web = userDataExports(template, 'WebLaunchTemplate');
  const group = properties(template, 'WebAutoScalingGroup');
  const rolling = (
    resource(template, 'WebAutoScalingGroup').UpdatePolicy as Record<string, Record<string, unknown>>
  ).AutoScalingRollingUpdate;
  const instances = Number(group.MaxSize) + Number(rolling?.MaxBatchSize ?? 0);
  const webConnections = Number(web.WEB_PROCESSES) * Number(web.DB_POOL_MAX) * instances;
  const lambdaConnections =
    Number(properties(template, 'ApiLambdaFunction').ReservedConcurrentExecutions) * 2;
  const needed = webConnections + lambdaConnections + SIDECAR + HEADROOM;
  const maxConnections = Number(userDataExports(template, 'DatabaseLaunchTemplate').DB_MAX_CONNECTIONS);
  return { needed, available: maxConnections - SUPERUSER_RESERVED, webConnections, lambdaConnections };
}

describe('bounded public work', () => {
  it('reserves concurrency: the api function by stage parameter, the failover controller exactly one', () => {
    // Act / Assess
    assert.equal(Number(properties(defaults, 'ApiLambdaFunction').ReservedConcurrentExecutions), 10);
    assert.equal(
      Number(properties(defaults, 'DatabaseFailoverLambdaFunction').ReservedConcurrentExecutions),
      1,
    );
  });

  it('fits the connection budget into max_connections with the configured numbers', () => {
    // Act
    const budget = connectionBudget(defaults);
    // Assess: (3 + 1) instances x 2 processes x 10 + 10 x 2 + 1 + 5 = 106 <= 120 - 3
    assert.deepEqual(budget, { needed: 106, available: 117, webConnections: 80, lambdaConnections: 20 });
    assert.ok(budget.needed <= budget.available);
  });

  it('notices when a bigger web tier would overrun max_connections', () => {
    // Prepare: the same template with a web group of 10 instances
    const bigger = structuredClone(defaults);
    (properties(bigger, 'WebAutoScalingGroup') as Record<string, unknown>).MaxSize = '10';
    // Act
    const budget = connectionBudget(bigger);
    // Assess
    assert.ok(budget.needed > budget.available, JSON.stringify(budget));
  });

  it('writes max_connections explicitly: the database user data hands it to the first initialisation', () => {
    // Act / Assess
    assert.equal(userDataExports(defaults, 'DatabaseLaunchTemplate').DB_MAX_CONNECTIONS, '120');
    const web = userDataExports(defaults, 'WebLaunchTemplate');
    assert.deepEqual([web.WEB_PROCESSES, web.DB_POOL_MAX], ['2', '10']);
  });

  it('puts a WAF rate-based rule on the ALB only when the stage asks for it', () => {
    // Act / Assess
    assert.deepEqual(resourcesOfType(defaults, 'AWS::WAFv2::WebACL'), []);
    assert.deepEqual(resourcesOfType(defaults, 'AWS::WAFv2::WebACLAssociation'), []);
    const acl = properties(options, 'EdgeWebAcl');
    assert.equal(acl.Scope, 'REGIONAL');
    assert.deepEqual(acl.DefaultAction, { Allow: {} });
    const [rule, ...others] = acl.Rules as Record<string, unknown>[];
    assert.deepEqual(others, []);
    assert.deepEqual(rule?.Action, { Block: {} });
    assert.deepEqual(rule?.Statement, {
      RateBasedStatement: { AggregateKeyType: 'IP', Limit: '500', EvaluationWindowSec: 300 },
    });
    assert.deepEqual(properties(options, 'EdgeWebAclAssociation'), {
      ResourceArn: ref('LoadBalancer'),
      WebACLArn: { 'Fn::GetAtt': ['EdgeWebAcl', 'Arn'] },
    });
  });
});

describe('least privilege', () => {
  it("lets only this account's load balancer invoke the api function", () => {
    // Act
    const permission = resource(defaults, 'ApiLambdaPermissionAlb').Properties ?? {};
    // Assess
    assert.equal(permission.Principal, 'elasticloadbalancing.amazonaws.com');
    assert.deepEqual(permission.SourceAccount, { Ref: 'AWS::AccountId' });
    assert.ok(permission.SourceArn, 'and only its own target group');
  });

  it('lets a database instance modify only its own attributes', () => {
    // Act
    const statements = policyStatements(defaults).filter((s) =>
      s.actions.includes('ec2:ModifyInstanceAttribute'),
    );
    // Assess
    assert.equal(statements.length, 1);
    assert.deepEqual(statements[0], {
      owner: 'DatabaseInstanceRole',
      effect: 'Allow',
      actions: ['ec2:ModifyInstanceAttribute'],
      // An ARN (IAM refuses a bare policy variable as a Resource), tied to the caller by the condition.
      resources: [{ 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' }],
      condition: {
        ArnEquals: {
          'ec2:SourceInstanceARN': {
            'Fn::Sub':
              'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${!ec2:InstanceID}',
          },
        },
        StringEquals: { 'aws:ResourceTag/cloudy:stage': STAGE, 'aws:ResourceTag/database': 'true' },
      },
    });
  });

  it('allows one IMDS hop everywhere: nothing on the instances runs in a container', () => {
    // Act / Assess
    for (const template of [defaults, options]) {
      for (const [id] of resourcesOfType(template, 'AWS::EC2::LaunchTemplate')) {
        const metadata = launchTemplateData(template, id).MetadataOptions as Record<string, unknown>;
        assert.equal(metadata.HttpPutResponseHopLimit, 1, id);
      }
      for (const [id, instance] of resourcesOfType(template, 'AWS::EC2::Instance')) {
        const metadata = instance.Properties?.MetadataOptions as Record<string, unknown>;
        assert.equal(metadata.HttpPutResponseHopLimit, 1, id);
      }
    }
  });

  it('lets only the database instances publish the TLS CA, and the web tier and api function read it', () => {
    // Act
    const onCa = policyStatements(defaults)
      .filter((s) => s.resources.some((r) => JSON.stringify(r) === JSON.stringify(CA_PARAMETER_ARN)))
      .map((s) => `${s.owner} ${s.effect} ${s.actions.join(',')}`)
      .sort();
    // Assess
    assert.deepEqual(onCa, [
      'DatabaseCaReadersPolicy Allow ssm:GetParameter',
      'DatabaseInstanceRole Allow ssm:PutParameter',
    ]);
    // The readers' policy is the web instances' and the api function's, and the web tier starts after it.
    assert.deepEqual(properties(defaults, 'DatabaseCaReadersPolicy').Roles, [
      ref('WebInstanceRole'),
      ref('ApiFunctionRole'),
    ]);
    assert.ok(
      [resource(defaults, 'WebAutoScalingGroup').DependsOn].flat().includes('DatabaseCaReadersPolicy'),
    );
    assert.ok(
      !policyStatements(defaults).some((s) =>
        // Besides the CA parameter, only Session Manager's registration (ssm:UpdateInstanceInformation).
        s.actions.some(
          (a) =>
            a.startsWith('ssm:') &&
            a !== 'ssm:GetParameter' &&
            a !== 'ssm:PutParameter' &&
            a !== 'ssm:UpdateInstanceInformation',
        ),
      ),
    );
    assert.equal(
      userDataExports(defaults, 'WebLaunchTemplate').DB_CA_PARAMETER,
      `/cloudy/${STAGE}/database-ca-certificate`,
    );
    assert.equal(
      userDataExports(defaults, 'DatabaseLaunchTemplate').DB_CA_PARAMETER,
      `/cloudy/${STAGE}/database-ca-certificate`,
    );
  });
});

describe('encryption', () => {
  it('encrypts the root volume of the NAT instance and the bastion, whatever the account default', () => {
    // Act / Assess
    for (const [template, id] of [
      [defaults, 'NatInstance'],
      [options, 'Bastion'],
    ] as const) {
      const mappings = resource(template, id).Properties?.BlockDeviceMappings as Record<string, unknown>[];
      assert.deepEqual(
        mappings.map((m) => [m.DeviceName, (m.Ebs as Record<string, unknown>).Encrypted]),
        [['/dev/xvda', true]],
        id,
      );
    }
  });

  it('encrypts the root volume of both launch templates, whatever the account default', () => {
    // Act / Assess
    for (const id of ['WebLaunchTemplate', 'DatabaseLaunchTemplate']) {
      const mappings = launchTemplateData(defaults, id).BlockDeviceMappings as Record<string, unknown>[];
      assert.deepEqual(
        mappings.map((m) => [m.DeviceName, (m.Ebs as Record<string, unknown>).Encrypted]),
        [['/dev/xvda', true]],
        id,
      );
    }
  });

  it('lets only the database role mount the file system, and only over TLS', () => {
    // Act
    const policy = properties(defaults, 'DatabaseFileSystem').FileSystemPolicy as {
      Statement: Record<string, unknown>[];
    };
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    // Assess
    assert.deepEqual(bySid.DenyWithoutTls, {
      Sid: 'DenyWithoutTls',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: '*',
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system/*',
      },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const roleArn = { 'Fn::GetAtt': ['DatabaseInstanceRole', 'Arn'] };
    assert.deepEqual(bySid.DenyEveryoneButTheDatabaseRole?.Condition, {
      ArnNotEquals: { 'aws:PrincipalArn': roleArn },
    });
    assert.equal(bySid.DenyEveryoneButTheDatabaseRole?.Effect, 'Deny');
    assert.deepEqual(bySid.DatabaseRoleMountsThroughTheMountTargets?.Principal, { AWS: roleArn });
    const allows = policy.Statement.filter((s) => s.Effect === 'Allow');
    assert.equal(allows.length, 1, 'one principal is allowed');
    assert.ok(
      !policyStatements(defaults).some((s) =>
        s.actions.some((a) => a.startsWith('elasticfilesystem:Client')),
      ),
      'no identity policy grants a mount: the file-system policy is the one door',
    );
  });
});

describe('nothing lost on sls remove', () => {
  it('retains the file system and the backup vault on delete and on replacement, not after a failed create', () => {
    // Act / Assess
    for (const id of ['DatabaseFileSystem', 'DatabaseBackupVault']) {
      const { DeletionPolicy, UpdateReplacePolicy } = resource(defaults, id);
      assert.deepEqual([DeletionPolicy, UpdateReplacePolicy], ['RetainExceptOnCreate', 'Retain'], id);
    }
  });

  it('backs the file system up daily into the vault, kept for the stage retention', () => {
    // Act
    const plan = (properties(options, 'DatabaseBackupPlan').BackupPlan as Record<string, unknown>)
      .BackupPlanRule as Record<string, unknown>[];
    // Assess
    assert.equal(plan.length, 1);
    assert.deepEqual(plan[0]?.TargetBackupVault, ref('DatabaseBackupVault'));
    assert.equal(plan[0]?.ScheduleExpression, 'cron(0 3 * * ? *)');
    assert.deepEqual(plan[0]?.Lifecycle, { DeleteAfterDays: '14' });
    const defaultRule = (properties(defaults, 'DatabaseBackupPlan').BackupPlan as Record<string, unknown>)
      .BackupPlanRule as Record<string, unknown>[];
    assert.deepEqual(defaultRule[0]?.Lifecycle, { DeleteAfterDays: 35 });
    const selection = properties(defaults, 'DatabaseBackupSelection').BackupSelection as Record<
      string,
      unknown
    >;
    assert.deepEqual(selection.Resources, [{ 'Fn::GetAtt': ['DatabaseFileSystem', 'Arn'] }]);
    assert.deepEqual(selection.IamRoleArn, { 'Fn::GetAtt': ['DatabaseBackupRole', 'Arn'] });
  });

  it('keeps the lease table recoverable, and its item undeletable by anyone', () => {
    // Act
    const table = properties(defaults, 'LeaseTable');
    // Assess
    assert.deepEqual(table.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.deepEqual(table.TimeToLiveSpecification, {
      AttributeName: HEARTBEAT_TTL_ATTRIBUTE,
      Enabled: true,
    });
    const statements = ((table.ResourcePolicy as Record<string, Record<string, unknown>>).PolicyDocument
      ?.Statement ?? []) as Record<string, unknown>[];
    assert.deepEqual(
      statements.map((s) => [s.Effect, s.Principal, s.Action]),
      [['Deny', { AWS: '*' }, 'dynamodb:DeleteItem']],
    );
    assert.match(JSON.stringify(statements[0]?.Resource), /:table\/cloudy-ci-lease"/);
    assert.ok(
      !policyStatements(defaults).some(
        (s) => s.effect === 'Allow' && s.actions.some((a) => /^dynamodb:(DeleteItem|\*)$/.test(a)),
      ),
      'no role is allowed DeleteItem',
    );
  });
});

describe('optional app authentication', () => {
  it('is off by default: the api function and the web instances get empty settings', () => {
    // Act
    const env = (
      properties(defaults, 'ApiLambdaFunction').Environment as { Variables: Record<string, unknown> }
    ).Variables;
    // Assess
    assert.deepEqual([env.AUTH_ISSUER, env.AUTH_AUDIENCE], ['', '']);
    const web = userDataExports(defaults, 'WebLaunchTemplate');
    assert.deepEqual([web.AUTH_ISSUER, web.AUTH_AUDIENCE], ['', '']);
  });

  it('gives both the issuer and audience when the stage names them', () => {
    // Act
    const env = (
      properties(options, 'ApiLambdaFunction').Environment as { Variables: Record<string, unknown> }
    ).Variables;
    // Assess
    assert.deepEqual([env.AUTH_ISSUER, env.AUTH_AUDIENCE], [ISSUER, 'cloudy-api']);
    const web = userDataExports(options, 'WebLaunchTemplate');
    assert.deepEqual([web.AUTH_ISSUER, web.AUTH_AUDIENCE], [ISSUER, 'cloudy-api']);
  });
});
