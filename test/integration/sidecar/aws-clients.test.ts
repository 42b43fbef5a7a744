import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { createLeaseDynamoDbClient, createSidecarEc2Client } from '../../../ec2/sidecar/aws-clients';
import { pointAwsAt, type SilentHttpServer, startSilentHttpServer } from '../../support/silent-http-server';

// A store or EC2 endpoint that never answers (a partition) must fail the sidecar's call, not hang it: the lease
// logic counts on every call ending within its bound.
// Without the bound the request waits for ever; past this the test fails instead of waiting with it.
const HANG_LIMIT_MS = 60_000;

describe('the sidecar’s AWS clients', () => {
  let dynamodb: SilentHttpServer;
  let ec2: SilentHttpServer;
  let undo: () => void;

  before(async () => {
    dynamodb = await startSilentHttpServer();
    ec2 = await startSilentHttpServer();
    undo = pointAwsAt({ DYNAMODB: dynamodb.url, EC2: ec2.url });
  });

  after(async () => {
    undo();
    await Promise.all([dynamodb.close(), ec2.close()]);
  });

  it('gives up on a lease request that is not answered within its bound, after one attempt', {
    timeout: HANG_LIMIT_MS,
  }, async () => {
    // Prepare
    const client = createLeaseDynamoDbClient({ requestTimeoutMs: 300 });

    // Act / Assess
    await assert.rejects(
      client.send(new GetItemCommand({ TableName: 'lease', Key: { lockName: { S: 'database-primary' } } })),
      (error: Error) => error.name === 'TimeoutError',
    );
    assert.equal(dynamodb.requests.length, 1);
  });

  it('gives up on an EC2 request that is not answered within its bound (10 s)', {
    timeout: HANG_LIMIT_MS,
  }, async () => {
    // Prepare
    const client = createSidecarEc2Client();

    // Act / Assess
    await assert.rejects(
      client.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
      (error: Error) => error.name === 'TimeoutError',
    );
    assert.equal(ec2.requests.length, 1);
  });
});
