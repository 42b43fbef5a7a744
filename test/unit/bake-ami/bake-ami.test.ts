import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeInstanceTypesCommand,
  EC2Client,
  type InstanceStateName,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { BakeError, type BakeRequest, BuilderFailedError, bakeAmi } from '../../../scripts/bake-ami/bake';
import type { Presign } from '../../../scripts/bake-ami/presign';
import { BakeInterruptedError, WaitFailedError, WaitTimeoutError } from '../../../scripts/bake-ami/wait';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
const POLL = 15_000;
const BUCKET = 'cloudy-ami-bake-111122223333-eu-west-1';

const request: BakeRequest = {
  stage: 'dev',
  region: 'eu-west-1',
  architecture: 'x86_64',
  instanceType: 't3.micro',
  bundle: Buffer.from('bundle bytes'),
  bundleSha256: 'a'.repeat(64),
  script: '#!/bin/bash\nset -euo pipefail\necho bake\n',
  revision: 'abc1234',
};

// Recognisable stand-ins for presigned URLs: the operation, the key and the expiry they were signed for.
const presign: Presign = async (_client, command, expiresInSeconds) =>
  `https://${command.input.Bucket}.s3.example/${command.input.Key}?op=${command.constructor.name}&expires=${expiresInSeconds}`;

const instanceIn = (state: InstanceStateName): DescribeInstancesCommandOutput => ({
  $metadata: {},
  Reservations: [{ Instances: [{ InstanceId: 'i-0builder', State: { Name: state } }] }],
});
const resultObject = (text: string) =>
  ({ Body: { transformToString: async () => text } }) as unknown as GetObjectCommandOutput;
const sdkError = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

/** Every command sent to any of the four clients, in the order sent. */
const commandsSent = () =>
  [...sts.calls(), ...ssm.calls(), ...ec2.calls(), ...s3.calls()]
    .sort((a, b) => (a.calledBefore(b) ? -1 : 1))
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''));

/** Lets promise chains run; setImmediate is not faked. */
const settle = async () => {
  for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** Moves the fake clock a poll interval at a time until the bake ends. */
async function drive<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let step = 0; step < 500 && !settled; step += 1) {
    await settle();
    mock.timers.tick(POLL);
  }
  return promise;
}

function bake(controller = new AbortController(), progress: string[] = []) {
  return drive(
    bakeAmi(request, {
      clients: {
        ec2: new EC2Client({}),
        ssm: new SSMClient({}),
        s3: new S3Client({}),
        sts: new STSClient({}),
      },
      presign,
      signal: controller.signal,
      onProgress: (message) => progress.push(message),
      timing: { pollIntervalMs: POLL, builderTimeoutMs: 10 * 60_000, imageTimeoutMs: 20 * 60_000 },
      now: () => new Date('2026-11-26T12:30:00.000Z'),
    }),
  );
}

const SETUP = ['GetCallerIdentity', 'GetParameter', 'DescribeInstanceTypes', 'HeadBucket', 'PutObject'];

describe('bakeAmi', () => {
  beforeEach(() => {
    for (const client of [ec2, ssm, s3, sts]) client.reset();
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: new Date('2026-11-26T12:30:00Z') });
    sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
    ssm
      .on(GetParameterCommand, {
        Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      })
      .resolves({ Parameter: { Name: 'al2023', Value: 'ami-0base', Type: 'String' } });
    ssm.on(PutParameterCommand).resolves({ Version: 2, Tier: 'Standard' });
    ec2.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ InstanceType: 't3.micro', ProcessorInfo: { SupportedArchitectures: ['x86_64'] } }],
    });
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0builder' }] });
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce(instanceIn('pending'))
      .resolvesOnce(instanceIn('running'))
      .resolvesOnce(instanceIn('stopping'))
      .resolves(instanceIn('stopped'));
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0new' });
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [{ ImageId: 'ami-0new', State: 'pending' }] })
      .resolves({ Images: [{ ImageId: 'ami-0new', State: 'available' }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    ec2.on(DeregisterImageCommand).resolves({});
    s3.on(HeadBucketCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    s3.on(GetObjectCommand).resolves(resultObject('ok\n'));
    s3.on(DeleteObjectsCommand).resolves({});
  });

  afterEach(() => {
    mock.timers.reset();
  });

  it('images the builder once it installed the app, publishes the id, then removes the builder and files', async () => {
    // Prepare
    const progress: string[] = [];

    // Act
    const result = await bake(new AbortController(), progress);

    // Assess
    assert.deepEqual(result, {
      imageId: 'ami-0new',
      parameterName: '/cloudy/dev/app-ami-id',
      baseImageId: 'ami-0base',
    });
    assert.deepEqual(commandsSent(), [
      ...SETUP,
      'RunInstances',
      'DescribeInstances',
      'DescribeInstances',
      'DescribeInstances',
      'DescribeInstances',
      'GetObject',
      'CreateImage',
      'DescribeImages',
      'DescribeImages',
      'PutParameter',
      'PutParameter',
      'TerminateInstances',
      'DeleteObjects',
    ]);
    assert.ok(
      progress.includes('builder i-0builder installing the app, then powering off: running, 15s so far'),
    );
    assert.ok(progress.includes('image ami-0new becoming available: done after 15s'));
  });

  it('launches the builder from the current AL2023 image with IMDSv2 and user data carrying the bundle', async () => {
    // Act
    await bake();

    // Assess
    const input = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    assert.equal(input?.ImageId, 'ami-0base');
    assert.equal(input?.InstanceType, 't3.micro');
    assert.equal(input?.InstanceInitiatedShutdownBehavior, 'stop');
    assert.equal(input?.MetadataOptions?.HttpTokens, 'required');
    assert.deepEqual(
      input?.TagSpecifications?.[0]?.Tags?.find((tag) => tag.Key === 'cloudy:bake'),
      {
        Key: 'cloudy:bake',
        Value: '20261126T123000Z',
      },
    );
    const userData = Buffer.from(input?.UserData ?? '', 'base64').toString('utf8');
    const bundleUrl = `https://${BUCKET}.s3.example/dev/20261126T123000Z/bundle.tar.gz?op=GetObjectCommand&expires=3600`;
    const resultUrl = `https://${BUCKET}.s3.example/dev/20261126T123000Z/result.txt?op=PutObjectCommand&expires=3600`;
    assert.equal(
      userData,
      `#!/bin/bash\nexport BUNDLE_URL='${bundleUrl}'\nexport BUNDLE_SHA256='${'a'.repeat(64)}'\n` +
        `export RESULT_URL='${resultUrl}'\n${request.script}`,
    );
    const upload = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    assert.deepEqual([upload?.Bucket, upload?.Key], [BUCKET, 'dev/20261126T123000Z/bundle.tar.gz']);
  });

  it('pins the NAT and bastion image to the base image once, never moving an existing pin', async () => {
    // Arrange: the first bake finds no pin; the second finds one.
    ssm
      .on(PutParameterCommand, { Name: '/cloudy/dev/nat-ami-id' })
      .resolvesOnce({ Version: 1, Tier: 'Standard' })
      .rejectsOnce(Object.assign(new Error('exists'), { name: 'ParameterAlreadyExists' }));
    // Act
    await bake();
    await bake();
    // Assess
    const pins = ssm
      .commandCalls(PutParameterCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.Name === '/cloudy/dev/nat-ami-id');
    assert.equal(pins.length, 2);
    assert.deepEqual(
      [pins[0]?.Value, pins[0]?.Overwrite, pins[0]?.DataType],
      ['ami-0base', false, 'aws:ec2:image'],
    );
  });

  it('stores the image id as an AMI-typed parameter, tags the image, and deletes both bake files', async () => {
    // Act
    await bake();

    // Assess
    assert.deepEqual(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input, {
      Name: '/cloudy/dev/app-ami-id',
      Value: 'ami-0new',
      Type: 'String',
      DataType: 'aws:ec2:image',
      Overwrite: true,
      Description: 'cloudy dev: the web and database AMI (npm run bake-ami)',
    });
    const image = ec2.commandCalls(CreateImageCommand)[0]?.args[0].input;
    assert.equal(image?.Name, 'cloudy-dev-20261126T123000Z');
    const tags = Object.fromEntries(
      image?.TagSpecifications?.[0]?.Tags?.map((tag) => [tag.Key, tag.Value]) ?? [],
    );
    assert.equal(tags['cloudy:revision'], 'abc1234');
    assert.equal(tags['cloudy:base-image'], 'ami-0base');
    assert.deepEqual(s3.commandCalls(DeleteObjectsCommand)[0]?.args[0].input.Delete?.Objects, [
      { Key: 'dev/20261126T123000Z/bundle.tar.gz' },
      { Key: 'dev/20261126T123000Z/result.txt' },
    ]);
    assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 0);
  });

  it('creates the bake bucket, with files expiring after a day, when the account has none', async () => {
    // Prepare
    s3.on(HeadBucketCommand).rejects(sdkError('NotFound', 404));
    s3.on(CreateBucketCommand).resolves({});
    s3.on(PutBucketLifecycleConfigurationCommand).resolves({});

    // Act
    await bake();

    // Assess
    assert.deepEqual(commandsSent().slice(3, 7), [
      'HeadBucket',
      'CreateBucket',
      'PutBucketLifecycleConfiguration',
      'PutObject',
    ]);
    assert.deepEqual(s3.commandCalls(CreateBucketCommand)[0]?.args[0].input, {
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    });
    const rule = s3.commandCalls(PutBucketLifecycleConfigurationCommand)[0]?.args[0].input
      .LifecycleConfiguration?.Rules?.[0];
    assert.equal(rule?.Expiration?.Days, 1);
  });

  it('keeps waiting through throttled or not-yet-visible looks at the builder', async () => {
    // Prepare
    ec2
      .on(DescribeInstancesCommand)
      .rejectsOnce(sdkError('InvalidInstanceID.NotFound', 400))
      .rejectsOnce(sdkError('RequestLimitExceeded', 503))
      .resolves(instanceIn('stopped'));

    // Act
    const result = await bake();

    // Assess
    assert.equal(result.imageId, 'ami-0new');
  });

  it('fails with the builder’s report, makes no image, and terminates the builder', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves(
      resultObject('failed with status 1 at line 47: dnf install -y nodejs24\n...'),
    );

    // Act / Assess
    await assert.rejects(bake(), (error: unknown) => {
      assert.ok(error instanceof BuilderFailedError);
      assert.match(error.message, /line 47: dnf install -y nodejs24/);
      return true;
    });
    assert.deepEqual(commandsSent().slice(-3), ['GetObject', 'TerminateInstances', 'DeleteObjects']);
    assert.equal(ec2.commandCalls(CreateImageCommand).length, 0);
  });

  it('gives up on a builder that never powers off, and terminates it', async () => {
    // Prepare
    ec2.on(DescribeInstancesCommand).resolves(instanceIn('running'));
    const progress: string[] = [];

    // Act / Assess
    await assert.rejects(bake(new AbortController(), progress), WaitTimeoutError);

    assert.ok(
      progress.includes('builder i-0builder installing the app, then powering off: running, 9m45s so far'),
    );
    assert.deepEqual(commandsSent().slice(-3), ['DescribeInstances', 'TerminateInstances', 'DeleteObjects']);
  });

  it('deregisters an image that failed, with its snapshots, and publishes nothing', async () => {
    // Prepare
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        { ImageId: 'ami-0new', State: 'failed', StateReason: { Code: 'x', Message: 'snapshot failed' } },
      ],
    });

    // Act / Assess
    await assert.rejects(
      bake(),
      (error: unknown) => error instanceof WaitFailedError && /snapshot failed/.test(error.message),
    );

    assert.deepEqual(commandsSent().slice(-4), [
      'DescribeImages',
      'DeregisterImage',
      'TerminateInstances',
      'DeleteObjects',
    ]);
    assert.deepEqual(ec2.commandCalls(DeregisterImageCommand)[0]?.args[0].input, {
      ImageId: 'ami-0new',
      DeleteAssociatedSnapshots: true,
    });
    assert.equal(ssm.commandCalls(PutParameterCommand).length, 0);
  });

  it('on Ctrl-C while the builder works: stops waiting, terminates it, deletes the files', async () => {
    // Prepare
    const controller = new AbortController();
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      controller.abort();
      return instanceIn('running');
    });

    // Act / Assess
    await assert.rejects(bake(controller), BakeInterruptedError);

    assert.deepEqual(commandsSent(), [
      ...SETUP,
      'RunInstances',
      'DescribeInstances',
      'TerminateInstances',
      'DeleteObjects',
    ]);
  });

  it('on Ctrl-C while the image is pending: deregisters it and publishes nothing', async () => {
    // Prepare
    const controller = new AbortController();
    ec2.on(DescribeImagesCommand).callsFake(() => {
      controller.abort();
      return { Images: [{ ImageId: 'ami-0new', State: 'pending' }] };
    });

    // Act / Assess
    await assert.rejects(bake(controller), BakeInterruptedError);

    assert.deepEqual(commandsSent().slice(-4), [
      'DescribeImages',
      'DeregisterImage',
      'TerminateInstances',
      'DeleteObjects',
    ]);
    assert.equal(ssm.commandCalls(PutParameterCommand).length, 0);
  });

  it('names the failed call, keeps its cause, and cleans up only what exists', async () => {
    // Prepare
    const cause = sdkError('InsufficientInstanceCapacity', 500);
    ec2.on(RunInstancesCommand).rejects(cause);

    // Act / Assess
    await assert.rejects(bake(), (error: unknown) => {
      assert.ok(error instanceof BakeError);
      assert.match(error.message, /^RunInstances failed: InsufficientInstanceCapacity/);
      assert.equal(error.cause, cause);
      return true;
    });
    assert.deepEqual(commandsSent(), [...SETUP, 'RunInstances', 'DeleteObjects']);
  });

  it('refuses an instance type of another architecture before creating anything', async () => {
    // Prepare
    ec2.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ InstanceType: 't3.micro', ProcessorInfo: { SupportedArchitectures: ['arm64'] } }],
    });

    // Act / Assess
    await assert.rejects(bake(), /t3\.micro runs arm64, not x86_64/);
    assert.deepEqual(commandsSent(), ['GetCallerIdentity', 'GetParameter', 'DescribeInstanceTypes']);
  });

  it('reports the original failure when a cleanup step fails too, and still tries the others', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves(resultObject('failed with status 1 at line 50'));
    ec2.on(TerminateInstancesCommand).rejects(sdkError('UnauthorizedOperation', 403));
    const progress: string[] = [];

    // Act / Assess
    await assert.rejects(bake(new AbortController(), progress), BuilderFailedError);

    assert.ok(
      progress.some((line) =>
        /could not terminate the builder i-0builder \(UnauthorizedOperation\)/.test(line),
      ),
    );
    assert.equal(s3.commandCalls(DeleteObjectsCommand).length, 1);
  });
});
