import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import {
  AwsConfigurationError,
  AwsTransientError,
  callAws,
  classifyAwsError,
  DeadlineReachedError,
} from '../../../handlers/failover/errors';

function ec2Error(name: string, httpStatusCode: number): EC2ServiceException {
  return new EC2ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
  });
}

describe('classifyAwsError', () => {
  const rows: [string, unknown, typeof AwsConfigurationError | typeof AwsTransientError][] = [
    ['EC2 throttling', ec2Error('RequestLimitExceeded', 503), AwsTransientError],
    [
      'DynamoDB throttling',
      Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
      AwsTransientError,
    ],
    ['an EC2 5xx', ec2Error('InternalError', 500), AwsTransientError],
    ['an unknown 5xx', ec2Error('SomethingNew', 502), AwsTransientError],
    [
      'a network error',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      AwsTransientError,
    ],
    ['a route created meanwhile', ec2Error('RouteAlreadyExists', 400), AwsTransientError],
    ['an instance gone meanwhile', ec2Error('InvalidInstanceID.NotFound', 400), AwsTransientError],
    ['EC2 UnauthorizedOperation', ec2Error('UnauthorizedOperation', 403), AwsConfigurationError],
    ['AccessDenied', ec2Error('AccessDenied', 403), AwsConfigurationError],
    [
      'a missing lease table',
      Object.assign(new Error('no table'), { name: 'ResourceNotFoundException' }),
      AwsConfigurationError,
    ],
    ['an unknown 4xx', ec2Error('SomethingNew', 400), AwsConfigurationError],
  ];
  for (const [name, error, expected] of rows) {
    it(`classifies ${name} as ${expected.name}, keeping the cause`, () => {
      // Act
      const classified = classifyAwsError('DescribeInstances', error);
      // Assess
      assert.ok(classified instanceof expected);
      assert.equal(classified.cause, error);
      assert.equal(classified.operation, 'DescribeInstances');
      assert.match(classified.message, /DescribeInstances/);
    });
  }
});

describe('callAws', () => {
  it('returns what the call returns', async () => {
    assert.equal(await callAws('GetItem', async () => 42), 42);
  });

  it('lets a deadline stop through unchanged', async () => {
    // Prepare
    const stop = new DeadlineReachedError('ReplaceRoute');
    // Act / Assess
    await assert.rejects(
      callAws('DescribeRouteTables', async () => {
        throw stop;
      }),
      (error) => error === stop,
    );
  });
});
