// The user's own `sls deploy` (osls, its AWS SDK pointed at moto by AWS_ENDPOINT_URL) of the default and the
// every-option stage into an empty emulated account, and a first deploy that fails followed by one that succeeds.
// moto creates what it models, resolves every reference and, patched (../shared/aws-emu), runs IAM's policy
// validator on every inline policy, so a policy IAM would refuse fails the deploy here as it would on AWS.
// What moto does not model (its README: no rollback of a failed update, launch-template versions kept, SSM
// parameters not re-resolved, no AWS Backup, stack deletion that leaves terminated instances' network interfaces
// behind, so `sls remove` cannot finish) is proved as data in test/aws/templates.test.ts instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { MotoServer } from '../support/aws-emu';
import {
  runServerless,
  ServerlessCommandError,
  stageArguments,
  withServiceCopy,
} from '../support/cloudformation/serverless-package';
import { DEFAULT_REGION, EVERY_OPTION } from '../support/cloudformation/stage-variants';
import type { Template } from '../support/cloudformation/template';

/**
 * Resource types moto's CloudFormation does not create (its log says "Tried to parse ... but it's not supported").
 * A deploy that passes here proves nothing about them; the template tests and cfn-lint judge them. A type moto
 * skips that is not on this list fails the run, so that nobody mistakes a skipped resource for a verified one.
 */
const NOT_MODELLED_BY_MOTO = new Set([
  'AWS::AutoScaling::ScalingPolicy',
  'AWS::Backup::BackupPlan',
  'AWS::Backup::BackupSelection',
  'AWS::Backup::BackupVault',
  'AWS::EC2::SecurityGroupEgress',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::WAFv2::WebACL',
  'AWS::WAFv2::WebACLAssociation',
]);

/**
 * Types moto applies but lists without a physical id in ListStackResources (rules added to a group, permissions
 * added to a function, versions published): their existence is not checked here.
 */
const NOT_LISTED_BY_MOTO = new Set([
  'AWS::EC2::SecurityGroupIngress',
  'AWS::Lambda::Permission',
  'AWS::Lambda::Version',
]);

let moto: MotoServer;
let clientSettings: {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
};

before(async () => {
  moto = await MotoServer.start();
  clientSettings = {
    region: DEFAULT_REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
});

after(async () => {
  if (!moto) return;
  process.stdout.write(
    `# resource types moto skipped (not verified by the deploys): ${moto.skippedResourceTypes().join(', ') || 'none'}\n`,
  );
  await moto.stop();
});

/**
 * What a user (or `npm run bake-ami`) does before the first deploy: the stage's app image and its pinned NAT and
 * bastion image in their SSM parameters (docs/DEPLOY.md, prerequisites).
 */
async function writeAmiParameter(stage: string): Promise<void> {
  const ec2 = new EC2Client(clientSettings);
  const images = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
  const imageId = images.Images?.[0]?.ImageId;
  assert.ok(imageId, 'moto offers an Amazon image');
  const ssm = new SSMClient(clientSettings);
  for (const name of ['app-ami-id', 'nat-ami-id']) {
    await ssm.send(
      new PutParameterCommand({ Name: `/cloudy/${stage}/${name}`, Type: 'String', Value: imageId }),
    );
  }
}

/**
 * An ACM certificate in the emulated account (the ALB listener refuses an ARN ACM does not know). ACM's JSON
 * API by hand: the project has no ACM client, and moto does not check signatures.
 */
async function requestCertificate(): Promise<string> {
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'CertificateManager.RequestCertificate',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${DEFAULT_REGION}/acm/aws4_request`,
    },
    body: JSON.stringify({ DomainName: 'cloudy.example.com', ValidationMethod: 'DNS' }),
  });
  const { CertificateArn } = (await response.json()) as { CertificateArn?: string };
  assert.ok(CertificateArn, `ACM answered ${response.status}`);
  return CertificateArn;
}

interface Deployed {
  template: Template;
  output: string;
}

/** `sls deploy` as a user runs it, against moto. */
async function deploy(stage: string, params: Record<string, string> = {}): Promise<Deployed> {
  return withServiceCopy(async (service, work) => {
    const { stdout, stderr } = await runServerless(
      service,
      work,
      ['deploy', ...stageArguments({ stage, params })],
      moto.clientEnvironment(DEFAULT_REGION),
      600,
    );
    const template = JSON.parse(
      readFileSync(join(service, '.serverless/cloudformation-template-update-stack.json'), 'utf8'),
    ) as Template;
    return { template, output: stdout + stderr };
  });
}

async function stackResources(stackName: string): Promise<StackResourceSummary[]> {
  const cloudformation = new CloudFormationClient(clientSettings);
  const found: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cloudformation.send(
      new ListStackResourcesCommand({ StackName: stackName, NextToken: token }),
    );
    found.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token);
  return found;
}

async function stackStatus(stackName: string): Promise<string | undefined> {
  const stacks = await new CloudFormationClient(clientSettings).send(
    new DescribeStacksCommand({ StackName: stackName }),
  );
  return stacks.Stacks?.[0]?.StackStatus;
}

/** Every resource of the template exists in the stack with a physical id, unless moto does not model its type. */
async function assertEveryResourceCreated(stackName: string, template: Template): Promise<void> {
  const created = new Map((await stackResources(stackName)).map((r) => [r.LogicalResourceId, r]));
  const missing = Object.entries(template.Resources)
    .filter(
      ([, resource]) => !NOT_MODELLED_BY_MOTO.has(resource.Type) && !NOT_LISTED_BY_MOTO.has(resource.Type),
    )
    .filter(([id]) => !created.get(id)?.PhysicalResourceId)
    .map(([id, resource]) => `${id} (${resource.Type})`);
  assert.deepEqual(missing, [], 'every modelled resource was created');
}

async function assertTiersAsTemplated(stage: string, template: Template): Promise<void> {
  const resources = new Map((await stackResources(`cloudy-${stage}`)).map((r) => [r.LogicalResourceId, r]));
  const groups = await new AutoScalingClient(clientSettings).send(new DescribeAutoScalingGroupsCommand({}));
  for (const id of ['WebAutoScalingGroup', 'DatabaseAutoScalingGroup']) {
    const name = resources.get(id)?.PhysicalResourceId;
    const group = groups.AutoScalingGroups?.find((candidate) => candidate.AutoScalingGroupName === name);
    assert.ok(group, `${id} exists`);
    const props = template.Resources[id]?.Properties ?? {};
    assert.equal(group.MinSize, Number(props.MinSize), `${id} MinSize`);
    assert.equal(group.MaxSize, Number(props.MaxSize), `${id} MaxSize`);
    assert.equal(group.Instances?.length, Number(props.DesiredCapacity ?? props.MinSize), `${id} instances`);
  }
  const natId = resources.get('NatInstance')?.PhysicalResourceId;
  if (template.Resources.NatInstance) {
    const reservations = await new EC2Client(clientSettings).send(
      new DescribeInstancesCommand({ InstanceIds: [natId ?? ''] }),
    );
    const nat = reservations.Reservations?.[0]?.Instances?.[0];
    // moto does not apply SourceDestCheck from a template (it reports true); template.test.ts checks the property.
    assert.equal(nat?.State?.Name, 'running');
  }
}

describe('sls deploy into an empty emulated account', () => {
  it('refuses, in this moto, an inline policy IAM refuses (the validator the deploys rely on is on)', async () => {
    // Arrange: the statement this project once shipped (a bare policy variable as the Resource).
    const template = {
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
              ],
            },
            Policies: [
              {
                PolicyName: 'own-instance',
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Effect: 'Allow',
                      Action: 'ec2:ModifyInstanceAttribute',
                      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
                      Resource: '${ec2:SourceInstanceARN}',
                    },
                  ],
                },
              },
            ],
          },
        },
      },
    };
    // Act
    const attempt = new CloudFormationClient(clientSettings).send(
      new CreateStackCommand({
        StackName: 'policy-validator-probe',
        TemplateBody: JSON.stringify(template),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    // Assess
    await assert.rejects(attempt, /Partition .* is not valid for resource/);
  });

  it('deploys the default stage: every modelled resource created, the tiers as templated', async () => {
    // Arrange
    const stage = 'awsdefault';
    await writeAmiParameter(stage);
    // Act
    const { template } = await deploy(stage);
    // Assess
    assert.match((await stackStatus(`cloudy-${stage}`)) ?? '', /^(CREATE|UPDATE)_COMPLETE$/);
    await assertEveryResourceCreated(`cloudy-${stage}`, template);
    await assertTiersAsTemplated(stage, template);
  });

  it('deploys the stage with every option flipped', async () => {
    // Arrange
    const stage = 'awsoptions';
    await writeAmiParameter(stage);
    const certificateArn = await requestCertificate();
    // Act
    const { template } = await deploy(stage, { ...EVERY_OPTION, certificateArn });
    // Assess
    assert.match((await stackStatus(`cloudy-${stage}`)) ?? '', /^(CREATE|UPDATE)_COMPLETE$/);
    await assertEveryResourceCreated(`cloudy-${stage}`, template);
    await assertTiersAsTemplated(stage, template);
    for (const id of ['Bastion', 'NatGateway', 'HttpsListener', 'AlarmEmailSubscription']) {
      assert.ok(template.Resources[id], `${id} is part of the every-option stage`);
    }
  });

  it('deploys a stage again after its first deploy failed', async () => {
    // Arrange: a table of the lease table's name already in the account makes the first deploy fail part-way.
    const stage = 'awsretry';
    await writeAmiParameter(stage);
    const dynamodb = new DynamoDBClient(clientSettings);
    const obstacle = `cloudy-${stage}-lease`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: obstacle,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    // Act
    await assert.rejects(deploy(stage), ServerlessCommandError, 'the first deploy fails');
    await dynamodb.send(new DeleteTableCommand({ TableName: obstacle }));
    const { template } = await deploy(stage);
    // Assess: nothing the failed attempt left behind blocks the second one.
    assert.match((await stackStatus(`cloudy-${stage}`)) ?? '', /^(CREATE|UPDATE)_COMPLETE$/);
    await assertEveryResourceCreated(`cloudy-${stage}`, template);
  });

  it('skips no resource type beyond the ones it is known not to model', () => {
    // Assess
    assert.deepEqual(
      moto.skippedResourceTypes().filter((type) => !NOT_MODELLED_BY_MOTO.has(type)),
      [],
    );
  });
});
