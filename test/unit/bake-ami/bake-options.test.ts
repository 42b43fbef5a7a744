import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BAKE_AMI, bakeOptions } from '../../../scripts/bake-ami/options';
import { presignS3 } from '../../../scripts/bake-ami/presign';
import {
  bakeUserData,
  USER_DATA_LIMIT_BYTES,
  UserDataTooLargeError,
} from '../../../scripts/bake-ami/user-data';
import { parseCommandLine, UsageError } from '../../../shared/command-line';

function parseBakeOptions(argv: string[], session = { region: 'eu-central-1' }) {
  const outcome = parseCommandLine(BAKE_AMI, argv);
  assert.ok(!outcome.help);
  return bakeOptions(outcome.values, session);
}

describe('bakeOptions', () => {
  it("needs only the stage: x86_64 on t3.micro, in the session's region", () => {
    assert.deepEqual(parseBakeOptions(['--stage', 'dev'], { region: 'eu-central-1' }), {
      stage: 'dev',
      region: 'eu-central-1',
      architecture: 'x86_64',
      instanceType: 't3.micro',
    });
  });

  it('picks a Graviton builder for arm64 and takes every override', () => {
    assert.deepEqual(
      parseBakeOptions(['--stage', 'prod', '--arch', 'arm64', '--subnet-id', 'subnet-1', '--bucket', 'b'], {
        region: 'us-east-1',
      }),
      {
        stage: 'prod',
        region: 'us-east-1',
        architecture: 'arm64',
        instanceType: 't4g.micro',
        subnetId: 'subnet-1',
        bucket: 'b',
      },
    );
  });

  it('explains what is wrong with the command line', () => {
    assert.throws(() => parseBakeOptions([]), /--stage is required/);
    assert.throws(() => parseBakeOptions(['--stage', 'a/b']), UsageError);
    assert.throws(() => parseBakeOptions(['--stage', 'dev', '--arch', 'i386']), /x86_64 or arm64/);
    assert.throws(() => parseBakeOptions(['--stage', 'dev', '--colour']), /Unknown option '--colour'/);
  });
});

describe('bakeUserData', () => {
  it('quotes values so that the shell reads presigned URLs whole', () => {
    // Act
    const userData = bakeUserData('echo hi\n', {
      bundleUrl: "https://b.s3.amazonaws.com/k?X-Amz-Signature=1&it's=%2F",
      bundleSha256: 'f'.repeat(64),
      resultUrl: 'https://b.s3.amazonaws.com/r?a=1&b=2',
    });

    // Assess
    assert.match(
      userData,
      /^export BUNDLE_URL='https:\/\/b\.s3\.amazonaws\.com\/k\?X-Amz-Signature=1&it'\\''s=%2F'$/m,
    );
    assert.ok(userData.endsWith('echo hi\n'));
  });

  it('refuses user data EC2 would refuse', () => {
    // Prepare
    const values = { bundleUrl: 'u', bundleSha256: 's', resultUrl: 'r' };
    // Act / Assess
    assert.throws(() => bakeUserData('#'.repeat(USER_DATA_LIMIT_BYTES), values), UserDataTooLargeError);
  });
});

describe('presignS3', () => {
  it('signs locally a URL the builder can use without credentials of its own', async () => {
    // Prepare
    const client = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });

    // Act
    const url = new URL(
      await presignS3(client, new GetObjectCommand({ Bucket: 'bake', Key: 'dev/1/bundle.tar.gz' }), 3600),
    );

    // Assess
    assert.equal(url.hostname, 'bake.s3.eu-west-1.amazonaws.com');
    assert.equal(url.pathname, '/dev/1/bundle.tar.gz');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '3600');
    assert.match(url.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
  });
});
