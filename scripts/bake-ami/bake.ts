import {
  type _InstanceType,
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  type EC2Client,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { awsErrorCode, awsHttpStatus, isThrottling, wrapAwsCall } from '../../shared/aws-errors';
import {
  amiParameterName,
  bakeBucketName,
  bakeId,
  baseImageParameter,
  imageName,
  natAmiParameterName,
} from './names';
import type { BakeOptions } from './options';
import type { Presign } from './presign';
import { bakeUserData } from './user-data';
import { BakeInterruptedError, type Observation, pollUntil } from './wait';

interface BakeClients {
  ec2: EC2Client;
  ssm: SSMClient;
  s3: S3Client;
  sts: STSClient;
}

/** What the operator chose on the command line (see options.ts), and what the command prepared from it. */
export interface BakeRequest extends BakeOptions {
  /** dist/ as a .tar.gz, and its SHA-256 (hex) that the builder checks. */
  bundle: Uint8Array;
  bundleSha256: string;
  /** The text of userdata/bake-ami.sh. */
  script: string;
  /** The commit the bundle was built from, recorded on the image. */
  revision?: string;
}

interface BakeTiming {
  pollIntervalMs: number;
  /** Installing packages and the bundle, then powering off: a few minutes. */
  builderTimeoutMs: number;
  /** Snapshotting the root volume: usually 3-10 minutes. */
  imageTimeoutMs: number;
}

const DEFAULT_TIMING: BakeTiming = {
  pollIntervalMs: 15_000,
  builderTimeoutMs: 20 * 60_000,
  imageTimeoutMs: 30 * 60_000,
};

interface BakeEnvironment {
  clients: BakeClients;
  presign: Presign;
  /** Aborted on Ctrl-C: the bake stops at the next step or wait, cleans up and rejects. */
  signal: AbortSignal;
  onProgress: (message: string) => void;
  timing?: Partial<BakeTiming>;
  now?: () => Date;
}

interface BakeResult {
  imageId: string;
  parameterName: string;
  baseImageId: string;
}

/** A step of the bake failed; `cause` holds the SDK error. */
export class BakeError extends Error {
  override readonly name = 'BakeError';
}

/** The builder instance ran its user data and reported a failure (the message holds its log's end). */
export class BuilderFailedError extends Error {
  override readonly name = 'BuilderFailedError';
}

// Presigned URLs outlive the builder's timeout, and no longer than that.
const URL_EXPIRY_SECONDS = 3600;

interface Created {
  bucket?: string;
  keys: string[];
  instanceId?: string;
  imageId?: string;
}

/**
 * Bakes the project's AMI: upload the bundle, launch a builder from the current Amazon Linux 2023 AMI that
 * installs it and powers off, image the stopped builder, wait until the image is available, store its id in
 * the stage's SSM parameter. Whatever happens (failure, Ctrl-C), the builder is terminated and the uploaded
 * files deleted; an image that never got published is deregistered with its snapshots.
 */
export async function bakeAmi(request: BakeRequest, env: BakeEnvironment): Promise<BakeResult> {
  const created: Created = { keys: [] };
  let result: BakeResult | undefined;
  try {
    result = await bakeSteps(request, env, created);
    return result;
  } finally {
    await cleanUp(env, created, result === undefined);
  }
}

async function bakeSteps(request: BakeRequest, env: BakeEnvironment, created: Created): Promise<BakeResult> {
  const { ec2, ssm, s3, sts } = env.clients;
  const timing = { ...DEFAULT_TIMING, ...env.timing };
  const progress = env.onProgress;
  const checkpoint = () => {
    if (env.signal.aborted) throw new BakeInterruptedError();
  };
  const id = bakeId((env.now ?? (() => new Date()))());

  progress('checking the account, the base image and the instance type');
  const identity = await call('GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  const accountId = required(identity.Account, 'GetCallerIdentity returned no account');
  const baseParameter = baseImageParameter(request.architecture);
  const base = await call('GetParameter', () => ssm.send(new GetParameterCommand({ Name: baseParameter })));
  const baseImageId = required(base.Parameter?.Value, `${baseParameter} has no value`);
  await checkArchitecture(ec2, request);
  checkpoint();

  const bucket = request.bucket ?? bakeBucketName(accountId, request.region);
  await ensureBucket(s3, bucket, request.region, progress);
  const bundleKey = `${request.stage}/${id}/bundle.tar.gz`;
  const resultKey = `${request.stage}/${id}/result.txt`;
  created.bucket = bucket;
  created.keys = [bundleKey, resultKey];
  progress(`uploading the bundle (${(request.bundle.byteLength / 1e6).toFixed(1)} MB) to s3://${bucket}`);
  await call('PutObject', () =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: bundleKey,
        Body: request.bundle,
        ContentType: 'application/gzip',
      }),
    ),
  );
  const userData = bakeUserData(request.script, {
    bundleUrl: await env.presign(
      s3,
      new GetObjectCommand({ Bucket: bucket, Key: bundleKey }),
      URL_EXPIRY_SECONDS,
    ),
    bundleSha256: request.bundleSha256,
    resultUrl: await env.presign(
      s3,
      new PutObjectCommand({ Bucket: bucket, Key: resultKey }),
      URL_EXPIRY_SECONDS,
    ),
  });
  checkpoint();

  // Tagged with the bake's id, so that leftovers of a bake killed outright can be found.
  const builderTags: Tag[] = [
    { Key: 'Name', Value: `cloudy-${request.stage}-ami-builder` },
    { Key: 'cloudy:stage', Value: request.stage },
    { Key: 'cloudy:bake', Value: id },
  ];
  progress(`launching the builder (${request.instanceType}) from ${baseImageId}`);
  const launched = await call('RunInstances', () =>
    ec2.send(
      new RunInstancesCommand({
        ImageId: baseImageId,
        InstanceType: request.instanceType as _InstanceType,
        MinCount: 1,
        MaxCount: 1,
        UserData: Buffer.from(userData).toString('base64'),
        // The builder powers itself off when done; "stop" keeps its disk for CreateImage.
        InstanceInitiatedShutdownBehavior: 'stop',
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
        ...(request.subnetId ? { SubnetId: request.subnetId } : {}),
        TagSpecifications: [
          { ResourceType: 'instance', Tags: builderTags },
          { ResourceType: 'volume', Tags: builderTags },
        ],
      }),
    ),
  );
  const instanceId = required(launched.Instances?.[0]?.InstanceId, 'RunInstances returned no instance');
  created.instanceId = instanceId;

  await pollUntil({
    what: `builder ${instanceId} installing the app, then powering off`,
    observe: () => observeBuilder(ec2, instanceId),
    intervalMs: timing.pollIntervalMs,
    timeoutMs: timing.builderTimeoutMs,
    signal: env.signal,
    onProgress: progress,
  });
  await checkBuilderResult(s3, bucket, resultKey, instanceId);
  checkpoint();

  const name = imageName(request.stage, id);
  progress(`creating image ${name}`);
  const imageTags: Tag[] = [
    { Key: 'Name', Value: name },
    { Key: 'cloudy:stage', Value: request.stage },
    { Key: 'cloudy:bake', Value: id },
    { Key: 'cloudy:base-image', Value: baseImageId },
    { Key: 'cloudy:bundle-sha256', Value: request.bundleSha256 },
    ...(request.revision ? [{ Key: 'cloudy:revision', Value: request.revision }] : []),
  ];
  const image = await call('CreateImage', () =>
    ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: name,
        Description: `cloudy ${request.stage}: Amazon Linux 2023, Node.js 24, the app at /opt/cloudy/dist`,
        TagSpecifications: [
          { ResourceType: 'image', Tags: imageTags },
          { ResourceType: 'snapshot', Tags: imageTags },
        ],
      }),
    ),
  );
  const imageId = required(image.ImageId, 'CreateImage returned no image id');
  created.imageId = imageId;

  await pollUntil({
    what: `image ${imageId} becoming available`,
    observe: () => observeImage(ec2, imageId),
    intervalMs: timing.pollIntervalMs,
    timeoutMs: timing.imageTimeoutMs,
    signal: env.signal,
    onProgress: progress,
  });
  checkpoint();

  const parameterName = amiParameterName(request.stage);
  await call('PutParameter', () =>
    ssm.send(
      new PutParameterCommand({
        Name: parameterName,
        Value: imageId,
        Type: 'String',
        // SSM checks that the value is an AMI id, and launch templates may resolve it as one.
        DataType: 'aws:ec2:image',
        Overwrite: true,
        Description: `cloudy ${request.stage}: the web and database AMI (npm run bake-ami)`,
      }),
    ),
  );
  progress(`stored ${imageId} in ${parameterName}`);
  await pinNatImage(ssm, request.stage, baseImageId, progress);
  return { imageId, parameterName, baseImageId };
}

/**
 * The NAT and bastion image, pinned to this bake's AL2023 base image unless the stage already has one: written
 * without overwrite, so a later bake never moves it (moving it replaces the NAT instance; docs/DEPLOY.md).
 */
async function pinNatImage(
  ssm: SSMClient,
  stage: string,
  baseImageId: string,
  progress: (line: string) => void,
): Promise<void> {
  const name = natAmiParameterName(stage);
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: baseImageId,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: false,
        Description: `cloudy ${stage}: the NAT instance and bastion image, pinned (docs/DEPLOY.md)`,
      }),
    );
    progress(`pinned the NAT and bastion image to ${baseImageId} in ${name}`);
  } catch (error) {
    if ((error as Error).name !== 'ParameterAlreadyExists')
      throw new BakeError(`PutParameter failed: ${(error as Error).message}`, { cause: error });
    progress(`${name} already pins the NAT and bastion image: left as it is`);
  }
}

async function checkArchitecture(ec2: EC2Client, request: BakeRequest): Promise<void> {
  const types = await call('DescribeInstanceTypes', () =>
    ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [request.instanceType as _InstanceType] })),
  );
  const supported = types.InstanceTypes?.[0]?.ProcessorInfo?.SupportedArchitectures ?? [];
  if (!supported.includes(request.architecture)) {
    throw new BakeError(
      `${request.instanceType} runs ${supported.join(', ') || 'nothing known'}, not ${request.architecture}: ` +
        'pick an instance type of that architecture (the web launch template must use one too)',
    );
  }
}

async function ensureBucket(
  s3: S3Client,
  bucket: string,
  region: string,
  progress: (message: string) => void,
): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    const status = awsHttpStatus(error);
    if (status === 403) {
      throw new BakeError(`bucket ${bucket} belongs to another account: choose one with --bucket`, {
        cause: error,
      });
    }
    if (status !== 404) throw new BakeError(`HeadBucket ${bucket} failed`, { cause: error });
  }
  progress(`creating bucket ${bucket} (its files expire after a day)`);
  await call('CreateBucket', () =>
    s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the one region that refuses to be named as a location constraint.
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    ),
  );
  await call('PutBucketLifecycleConfiguration', () =>
    s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            { ID: 'expire-bake-files', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } },
          ],
        },
      }),
    ),
  );
}

async function observeBuilder(ec2: EC2Client, instanceId: string): Promise<Observation> {
  try {
    const response = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const state = response.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    if (state === 'stopped') return { done: true };
    if (state === 'shutting-down' || state === 'terminated') {
      return { failed: `the builder was ${state} (see its console output)` };
    }
    return { done: false, status: state ?? 'unknown' };
  } catch (error) {
    if (isTransientLook(error)) return { done: false, status: `not visible yet (${awsErrorCode(error)})` };
    throw new BakeError(`DescribeInstances ${instanceId} failed`, { cause: error });
  }
}

async function observeImage(ec2: EC2Client, imageId: string): Promise<Observation> {
  try {
    const response = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    const image = response.Images?.[0];
    if (image?.State === 'available') return { done: true };
    if (image?.State === 'pending' || image === undefined)
      return { done: false, status: image?.State ?? 'unknown' };
    return { failed: `the image is ${image.State}: ${image.StateReason?.Message ?? 'no reason given'}` };
  } catch (error) {
    if (isTransientLook(error)) return { done: false, status: `not visible yet (${awsErrorCode(error)})` };
    throw new BakeError(`DescribeImages ${imageId} failed`, { cause: error });
  }
}

async function checkBuilderResult(
  s3: S3Client,
  bucket: string,
  key: string,
  instanceId: string,
): Promise<void> {
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await response.Body?.transformToString())?.trim() ?? '';
  } catch (error) {
    throw new BakeError(
      `the builder stopped without reporting a result; see aws ec2 get-console-output --instance-id ${instanceId}`,
      { cause: error },
    );
  }
  if (text !== 'ok') throw new BuilderFailedError(`the builder failed:\n${text}`);
}

async function cleanUp(env: BakeEnvironment, created: Created, failed: boolean): Promise<void> {
  const { ec2, s3 } = env.clients;
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
      env.onProgress(`cleanup: ${what}`);
    } catch (error) {
      env.onProgress(`cleanup: could not ${what} (${awsErrorCode(error)}): remove it by hand`);
    }
  };
  const { imageId, instanceId, bucket, keys } = created;
  if (failed && imageId) {
    await attempt(`deregister ${imageId} and its snapshots`, () =>
      ec2.send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true })),
    );
  }
  if (instanceId) {
    await attempt(`terminate the builder ${instanceId}`, () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })),
    );
  }
  if (bucket && keys.length > 0) {
    await attempt(`delete the bake files in s3://${bucket}`, () =>
      s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
  }
}

/** One SDK call, its failure wrapped once in a BakeError naming the operation. */
function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  return wrapAwsCall(
    send,
    ({ code, cause }) =>
      new BakeError(`${operation} failed: ${code}: ${(cause as Error).message}`, { cause }),
  );
}

function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new BakeError(message);
  return value;
}

// A new instance or image may not be visible to Describe* for a few seconds (EC2 is eventually consistent).
const NOT_VISIBLE_YET = new Set(['InvalidInstanceID.NotFound', 'InvalidAMIID.NotFound']);

/** A failed look at something just made that the next poll may not see: not found yet, or throttled. */
function isTransientLook(error: unknown): boolean {
  return NOT_VISIBLE_YET.has(awsErrorCode(error)) || isThrottling(error);
}
