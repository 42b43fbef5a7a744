// The failover controller's part of the packaged CloudFormation template, tested as data: the function's wiring,
// its triggers, and a role that can do exactly what the controller needs and nothing else.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { privateServiceCopy } from './private-service';

const STAGE = 'fotest';

type Json = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

let template: { Resources: Record<string, { Type: string; Properties: Json }> };
let service: ReturnType<typeof privateServiceCopy>;

const props = (logicalId: string): Json => {
  const found = template.Resources[logicalId];
  assert.ok(found, `${logicalId} is in the template`);
  return found.Properties;
};
const actions = (statement: Statement) => [statement.Action].flat();
const statements = (): Statement[] => {
  const policies = props('DatabaseFailoverRole').Policies as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
};

before(async () => {
  service = privateServiceCopy();
  const out = join(service.dir, 'out');
  // Offline and without credentials; `timeout` because serverless-esbuild hangs when esbuild fails.
  await promisify(execFile)('timeout', ['300', 'npx', 'sls', 'package', '--stage', STAGE, '--package', out], {
    cwd: service.dir,
    env: { PATH: process.env.PATH ?? '', HOME: service.dir, AWS_EC2_METADATA_DISABLED: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
});

after(() => service.remove());

describe('the databaseFailover function in the template', () => {
  it('runs the bundled handler with its own role and the stage, virtual IP and lease table in its environment', () => {
    // Act
    const fn = props('DatabaseFailoverLambdaFunction');
    // Assess
    assert.equal(fn.Handler, 'handlers/database-failover.handler');
    assert.deepEqual(fn.Role, { 'Fn::GetAtt': ['DatabaseFailoverRole', 'Arn'] });
    assert.equal(fn.Timeout, 30);
    const variables = (fn.Environment as { Variables: Json }).Variables;
    assert.equal(variables.STAGE, STAGE);
    assert.equal(variables.VIRTUAL_IP, '10.10.10.10');
    assert.equal(
      variables.LEASE_TABLE,
      props('LeaseTable').TableName,
      'the name of the table the sidecars write',
    );
    assert.equal(variables.DRY_RUN, undefined, 'acts for real once deployed');
  });

  it('runs every minute and on EC2 instances stopping or terminating', () => {
    // Act
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const targetsFunction = (rule: { Properties: Json }) =>
      (rule.Properties.Targets as { Arn: unknown }[]).some(
        (t) =>
          JSON.stringify(t.Arn) ===
          JSON.stringify({ 'Fn::GetAtt': ['DatabaseFailoverLambdaFunction', 'Arn'] }),
      );
    const schedule = rules.find((r) => r.Properties.ScheduleExpression === 'rate(1 minute)');
    // Assess
    assert.ok(schedule && targetsFunction(schedule));
    const stateChange = props('DatabaseFailoverStateChangeRule');
    assert.deepEqual(stateChange.EventPattern, {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] },
    });
    assert.ok(targetsFunction({ Properties: stateChange }));
    const permission = props('DatabaseFailoverStateChangePermission');
    assert.equal(permission.Principal, 'events.amazonaws.com');
    assert.deepEqual(permission.SourceArn, { 'Fn::GetAtt': ['DatabaseFailoverStateChangeRule', 'Arn'] });
  });
});

describe('the failover role', () => {
  it('allows exactly the calls the controller makes, and no wildcard action', () => {
    // Act
    const allowed = statements().flatMap(actions).sort();
    // Assess
    assert.deepEqual(allowed, [
      'dynamodb:GetItem',
      'ec2:CreateRoute',
      'ec2:DescribeInstanceStatus',
      'ec2:DescribeInstances',
      'ec2:DescribeRouteTables',
      'ec2:ReplaceRoute',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    assert.ok(statements().every((s) => s.Effect === 'Allow'));
    assert.equal(props('DatabaseFailoverRole').ManagedPolicyArns, undefined);
  });

  it('uses the resource "*" only for Describe calls, which take no other', () => {
    for (const statement of statements().filter(
      (s) => JSON.stringify(s.Resource).includes('"*"') || s.Resource === '*',
    )) {
      assert.ok(
        actions(statement).every((action) => action.startsWith('ec2:Describe')),
        statement.Sid,
      );
    }
  });

  it("changes routes only in this stage's database route tables", () => {
    // Act
    const routeStatements = statements().filter((s) => actions(s).some((a) => a.endsWith('Route')));
    // Assess
    assert.equal(routeStatements.length, 1);
    const [statement] = routeStatements;
    assert.deepEqual(statement?.Resource, {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
      'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:route-table/*',
    });
    assert.deepEqual(statement?.Condition, {
      StringEquals: { 'aws:ResourceTag/cloudy:stage': STAGE, 'aws:ResourceTag/database': 'true' },
    });
  });

  it('reads only the lease table and writes only its own log group', () => {
    // Prepare
    const byAction = (action: string) => statements().find((s) => actions(s).includes(action));
    // Act / Assess
    assert.deepEqual(byAction('dynamodb:GetItem')?.Resource, { 'Fn::GetAtt': ['LeaseTable', 'Arn'] });
    assert.deepEqual(byAction('logs:PutLogEvents')?.Resource, {
      'Fn::GetAtt': ['DatabaseFailoverLogGroup', 'Arn'],
    });
  });
});
