import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import {
  awsErrorCode,
  awsErrorKind,
  awsHttpStatus,
  isThrottling,
  wrapAwsCall,
} from '../../../shared/aws-errors';

// Errors as the SDK raises them: a name and the HTTP status in $metadata.
const sdkError = (name: string, httpStatusCode: number) =>
  new EC2ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
  });
const networkError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('awsErrorCode', () => {
  it('names the service code, the network code, else the error name, else UnknownError', () => {
    // Prepare
    const rows: [unknown, string][] = [
      [sdkError('RequestLimitExceeded', 503), 'RequestLimitExceeded'],
      [Object.assign(new Error('x'), { Code: 'NoSuchBucket' }), 'NoSuchBucket'],
      [networkError('ECONNRESET'), 'ECONNRESET'],
      [new Error('plain'), 'UnknownError'],
      ['a string', 'UnknownError'],
      [null, 'UnknownError'],
    ];

    // Act
    const codes = rows.map(([error]) => awsErrorCode(error));

    // Assess
    assert.deepEqual(
      codes,
      rows.map(([, code]) => code),
    );
  });
});

describe('awsHttpStatus', () => {
  it('reads the status of the answer, and undefined when there was none', () => {
    // Prepare
    const answered = sdkError('AccessDenied', 403);

    // Act
    const statuses = [awsHttpStatus(answered), awsHttpStatus(networkError('ETIMEDOUT')), awsHttpStatus(null)];

    // Assess
    assert.deepEqual(statuses, [403, undefined, undefined]);
  });
});

describe('isThrottling', () => {
  it('knows each service’s throttling code and HTTP 429, and nothing else', () => {
    // Prepare
    const throttled = [
      sdkError('Throttling', 400),
      sdkError('RequestLimitExceeded', 503),
      sdkError('ProvisionedThroughputExceededException', 400),
      sdkError('SlowDown', 429),
    ];
    const other = [sdkError('AccessDenied', 403), sdkError('InternalError', 500), networkError('ECONNRESET')];

    // Act
    const verdicts = [...throttled, ...other].map(isThrottling);

    // Assess
    assert.deepEqual(verdicts, [true, true, true, true, false, false, false]);
  });
});

describe('awsErrorKind', () => {
  const rows: [string, unknown, 'transient' | 'configuration'][] = [
    ['throttling', sdkError('Throttling', 400), 'transient'],
    ['an unknown code with 429', sdkError('SlowDown', 429), 'transient'],
    ['a known 5xx', sdkError('InternalError', 500), 'transient'],
    ['an unknown 5xx', sdkError('SomethingNew', 502), 'transient'],
    ['a network failure', networkError('ETIMEDOUT'), 'transient'],
    ['something that is not an error', 'boom', 'transient'],
    [
      'an instance not visible yet (eventual consistency)',
      sdkError('InvalidInstanceID.NotFound', 400),
      'transient',
    ],
    ['a missing permission', sdkError('UnauthorizedOperation', 403), 'configuration'],
    [
      'a missing table',
      Object.assign(new Error('no table'), { name: 'ResourceNotFoundException' }),
      'configuration',
    ],
    ['a bad parameter', sdkError('InvalidParameterValue', 400), 'configuration'],
    ['an unknown 4xx', sdkError('SomethingNew', 400), 'configuration'],
  ];
  for (const [name, error, expected] of rows) {
    it(`counts ${name} as ${expected}`, () => {
      // Act
      const kind = awsErrorKind(error);

      // Assess
      assert.equal(kind, expected);
    });
  }
});

describe('wrapAwsCall', () => {
  it('returns what the call returns', async () => {
    // Act
    const result = await wrapAwsCall(
      async () => 42,
      () => new Error('not called'),
    );

    // Assess
    assert.equal(result, 42);
  });

  it('throws the caller’s error, built from the failure described once', async () => {
    // Prepare
    const refused = sdkError('AccessDenied', 403);

    // Act
    const thrown = await wrapAwsCall(
      async () => {
        throw refused;
      },
      (failure) => failure,
    ).catch((error: unknown) => error);

    // Assess
    assert.deepEqual(thrown, { code: 'AccessDenied', kind: 'configuration', cause: refused });
  });
});
