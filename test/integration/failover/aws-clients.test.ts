import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { createFailoverClients } from '../../../handlers/failover/aws-clients';
import { pointAwsAt, type SilentHttpServer, startSilentHttpServer } from '../../support/silent-http-server';

// One hung call must not eat the run's time budget: handlers/failover/deadline.ts reserves about one request.
// Without the bound the request waits for ever; past this the test fails instead of waiting with it.
const HANG_LIMIT_MS = 60_000;

describe('createFailoverClients', () => {
  let server: SilentHttpServer;
  let undo: () => void;

  before(async () => {
    server = await startSilentHttpServer();
    // One attempt is the clients' own setting: an environment asking for three must not change it.
    undo = pointAwsAt({ DYNAMODB: server.url, EC2: server.url });
    process.env.AWS_MAX_ATTEMPTS = '3';
  });

  after(async () => {
    undo();
    await server.close();
  });

  it('fails an EC2 and a DynamoDB request that get no answer within 5 s, each after one attempt', {
    timeout: HANG_LIMIT_MS,
  }, async () => {
    // Prepare
    const { ec2, dynamodb } = createFailoverClients();

    // Act
    const outcomes = await Promise.allSettled([
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
      dynamodb.send(new GetItemCommand({ TableName: 'lease', Key: { lockName: { S: 'database-primary' } } })),
    ]);

    // Assess
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).name),
      ['TimeoutError', 'TimeoutError'],
    );
    assert.equal(server.requests.length, 2);
  });
});
