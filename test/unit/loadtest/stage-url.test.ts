import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import {
  findStageUrl,
  StackLookupError,
  StageNotDeployedError,
  StageOutputMissingError,
} from '../../../loadtest/src/stage-url';

const cloudFormationMock = mockClient(CloudFormationClient);
const client = () => new CloudFormationClient({ region: 'eu-west-1' });
const ALB_URL = 'http://cloudy-dev-1234567890.eu-west-1.elb.amazonaws.com:8080';

function deployedStack(overrides: Partial<Stack> = {}): Stack {
  return {
    StackName: 'cloudy-dev',
    StackId:
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/cloudy-dev/0f7b3c10-0000-0000-0000-000000000000',
    StackStatus: 'UPDATE_COMPLETE',
    CreationTime: new Date('2026-11-20T10:00:00Z'),
    Outputs: [
      { OutputKey: 'WebAutoScalingGroupName', OutputValue: 'cloudy-dev-web' },
      { OutputKey: 'LoadBalancerUrl', OutputValue: ALB_URL },
      { OutputKey: 'MetricsNamespace', OutputValue: 'cloudy/dev' },
    ],
    ...overrides,
  };
}

function serviceError(name: string, message: string) {
  return new CloudFormationServiceException({
    name,
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

describe('findStageUrl', () => {
  beforeEach(() => {
    cloudFormationMock.reset();
  });

  it('reads the LoadBalancerUrl output of the stack cloudy-<stage>', async () => {
    // Prepare
    cloudFormationMock.on(DescribeStacksCommand).resolves({ Stacks: [deployedStack()] });

    // Act
    const url = await findStageUrl(client(), 'dev', 'eu-west-1');

    // Assess
    assert.equal(url, ALB_URL);
    const calls = cloudFormationMock.commandCalls(DescribeStacksCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.args[0].input, { StackName: 'cloudy-dev' });
  });

  it('names the stage, the stack and the region when the stack does not exist', async () => {
    // Prepare
    cloudFormationMock
      .on(DescribeStacksCommand)
      .rejects(serviceError('ValidationError', 'Stack with id cloudy-nope does not exist'));

    // Act
    const lookup = findStageUrl(client(), 'nope', 'us-east-1');

    // Assess
    await assert.rejects(lookup, (error: Error) => {
      assert.ok(error instanceof StageNotDeployedError);
      assert.match(error.message, /stage "nope" is not deployed in us-east-1/);
      assert.match(error.message, /no stack cloudy-nope/);
      return true;
    });
  });

  it('says the stack has no URL yet while it is still being created', async () => {
    // Prepare
    cloudFormationMock
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [deployedStack({ StackStatus: 'CREATE_IN_PROGRESS', Outputs: [] })] });

    // Act
    const lookup = findStageUrl(client(), 'dev', 'eu-west-1');

    // Assess
    await assert.rejects(lookup, (error: Error) => {
      assert.ok(error instanceof StageOutputMissingError);
      assert.match(
        error.message,
        /cloudy-dev of stage "dev" \(CREATE_IN_PROGRESS\) has no output LoadBalancerUrl/,
      );
      return true;
    });
  });

  it('keeps access and throttling failures apart from a missing stage, with the cause', async () => {
    // Prepare
    const denied = serviceError(
      'AccessDenied',
      'User: arn:aws:iam::111111111111:user/ops is not authorized to perform: cloudformation:DescribeStacks',
    );
    cloudFormationMock
      .on(DescribeStacksCommand)
      .rejectsOnce(denied)
      .rejectsOnce(serviceError('Throttling', 'Rate exceeded'));

    // Act
    const firstError = await findStageUrl(client(), 'dev', 'eu-west-1').catch((error: unknown) => error);
    const secondError = await findStageUrl(client(), 'dev', 'eu-west-1').catch((error: unknown) => error);

    // Assess
    assert.ok(firstError instanceof StackLookupError);
    assert.match(
      firstError.message,
      /cannot read stack cloudy-dev of stage "dev" in eu-west-1 \(AccessDenied: /,
    );
    assert.equal(firstError.cause, denied);
    assert.ok(secondError instanceof StackLookupError);
    assert.match(secondError.message, /\(Throttling: Rate exceeded\)/);
  });

  it('treats a ValidationError about something else as a lookup failure, not a missing stage', async () => {
    // Prepare
    cloudFormationMock
      .on(DescribeStacksCommand)
      .rejects(serviceError('ValidationError', '1 validation error detected: Value at stackName failed'));

    // Act
    const lookup = findStageUrl(client(), 'dev', 'eu-west-1');

    // Assess
    await assert.rejects(lookup, StackLookupError);
  });
});
