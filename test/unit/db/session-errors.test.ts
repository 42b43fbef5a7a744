// What `npm run db` says when the session is wrong, at the SDK boundary: the real SDK credential chain with nothing
// to find (no network: the instance metadata service is switched off), and AWS's refusals as the services send
// them (aws-sdk-client-mock). Each message names the cause instead of "transient: run the command again".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { DynamoDBClient, DynamoDBServiceException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  EC2ServiceException,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { readFailoverConfig } from '../../../handlers/failover/config';
import { observe } from '../../../handlers/failover/observe';
import { createDbCommandClients } from '../../../scripts/db/aws-clients';
import { explainDbFailure } from '../../../scripts/db/explain-failure';
import type { AwsSession } from '../../../shared/command-aws';

const STAGE = 'dev';
const TABLE = 'cloudy-dev-lease';
const config = { ...readFailoverConfig({ STAGE, LEASE_TABLE: TABLE }), leaseTable: TABLE };
const session: AwsSession = { region: 'eu-west-1', regionSource: 'serverless.yml' };
const noDeadline = { remainingMs: () => Number.POSITIVE_INFINITY, ensureTimeFor: () => {} };

async function failureOf(ec2: EC2Client, dynamodb: DynamoDBClient): Promise<string | undefined> {
  try {
    await observe({ ec2, dynamodb, config, deadline: noDeadline, now: Date.now });
  } catch (error) {
    return explainDbFailure(error, session, STAGE, TABLE);
  }
  assert.fail('observe succeeded');
}

describe('db: the session, said by its cause', () => {
  describe('with no credentials anywhere (the real SDK chain)', () => {
    const saved = { ...process.env };
    const empty = mkdtempSync(join(tmpdir(), 'cloudy-26-nocreds-'));
    before(() => {
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      process.env.AWS_CONFIG_FILE = join(empty, 'config');
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(empty, 'credentials');
    });
    after(() => {
      process.env = saved;
      rmSync(empty, { recursive: true, force: true });
    });

    it('says there are no credentials and how to give them', async () => {
      // Prepare
      const { ec2, dynamodb } = createDbCommandClients(session);
      // Act
      const message = await failureOf(ec2, dynamodb);
      // Assess
      assert.match(message ?? '', /^no AWS credentials from the SDK default chain .*--profile.*AWS_PROFILE/);
    });
  });

  describe("AWS's refusals", () => {
    // Made here, not when the file loads: a mock replaces every client's send, the real chain's above too.
    const mocks = () => ({ ec2Mock: mockClient(EC2Client), dynamodbMock: mockClient(DynamoDBClient) });
    let { ec2Mock, dynamodbMock } = {} as ReturnType<typeof mocks>;
    before(() => {
      ({ ec2Mock, dynamodbMock } = mocks());
    });
    after(() => {
      ec2Mock.restore();
      dynamodbMock.restore();
    });
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const clients = () => ({
      ec2: new EC2Client({ region: 'eu-west-1', credentials }),
      dynamodb: new DynamoDBClient({ region: 'eu-west-1', credentials }),
    });
    beforeEach(() => {
      ec2Mock.reset();
      dynamodbMock.reset();
      ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
      ec2Mock.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
      ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [] });
    });
    afterEach(() => {
      ec2Mock.reset();
      dynamodbMock.reset();
    });

    it('names the principal, the action and the resource of an AccessDenied', async () => {
      // Prepare: DynamoDB's own wording
      dynamodbMock.on(GetItemCommand).rejects(
        new DynamoDBServiceException({
          name: 'AccessDeniedException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message:
            'User: arn:aws:iam::123456789012:user/ann is not authorized to perform: dynamodb:GetItem on resource: ' +
            'arn:aws:dynamodb:eu-west-1:123456789012:table/cloudy-dev-lease because no identity-based policy ' +
            'allows the dynamodb:GetItem action',
        }),
      );
      // Act
      const message = await failureOf(clients().ec2, clients().dynamodb);
      // Assess
      assert.equal(
        message,
        'access denied: arn:aws:iam::123456789012:user/ann may not dynamodb:GetItem on ' +
          'arn:aws:dynamodb:eu-west-1:123456789012:table/cloudy-dev-lease in eu-west-1 — grant it, or use a profile that has it',
      );
    });

    it("names the API call when EC2's UnauthorizedOperation names no action", async () => {
      // Prepare
      dynamodbMock.on(GetItemCommand).resolves({});
      ec2Mock.on(DescribeRouteTablesCommand).rejects(
        new EC2ServiceException({
          name: 'UnauthorizedOperation',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
          message: 'You are not authorized to perform this operation.',
        }),
      );
      // Act
      const message = await failureOf(clients().ec2, clients().dynamodb);
      // Assess
      assert.match(message ?? '', /^access denied: .* may not DescribeRouteTables in eu-west-1/);
    });

    it('says the stage is not deployed in the region when its lease table is not there', async () => {
      // Prepare
      dynamodbMock.on(GetItemCommand).rejects(
        new DynamoDBServiceException({
          name: 'ResourceNotFoundException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Requested resource not found',
        }),
      );
      // Act
      const message = await failureOf(clients().ec2, clients().dynamodb);
      // Assess
      assert.match(
        message ?? '',
        /^stage dev is not deployed in eu-west-1 \(from serverless\.yml\): no lease table cloudy-dev-lease there — pass --region/,
      );
    });

    it('says expired credentials need a new sign-in', async () => {
      // Prepare
      dynamodbMock.on(GetItemCommand).rejects(
        new DynamoDBServiceException({
          name: 'ExpiredTokenException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'The security token included in the request is expired',
        }),
      );
      // Act / Assess
      assert.match((await failureOf(clients().ec2, clients().dynamodb)) ?? '', /have expired: sign in again/);
    });
  });
});
