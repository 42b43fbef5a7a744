import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

// The one module that builds real AWS clients. Everything else receives clients as parameters, so tests
// pass mocked ones. The SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_*, credentials chain) apply.

export function createStsClient(region?: string): STSClient {
  return new STSClient(region ? { region } : {});
}

/** This account's SSM, for the database tier's CA certificate (ec2/web/db/server-tls.ts). */
export function createSsmClient(): SSMClient {
  return new SSMClient({});
}

/** This account's Secrets Manager: the Aurora administrator's secret, which RDS keeps here (handlers/database-bootstrap.ts). */
export function createAccountSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}

export function createSecretsManagerClient(
  region: string,
  credentials: AwsCredentialIdentity,
): SecretsManagerClient {
  return new SecretsManagerClient({ region, credentials });
}

/**
 * For the database sidecar's lease: one attempt per call with a short timeout, because the sidecar retries on
 * its own schedule and a request that hangs must not outlive the renew interval.
 */
export function createLeaseDynamoDbClient(options: {
  region?: string;
  requestTimeoutMs: number;
}): DynamoDBClient {
  return new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs,
      connectionTimeout: options.requestTimeoutMs,
      // Without it the SDK only logs a warning and the request hangs on (a partitioned store is never answered).
      throwOnRequestTimeout: true,
    },
  });
}

/** For the database sidecar: fencing a peer and moving the virtual-IP route. */
export function createSidecarEc2Client(region?: string): EC2Client {
  return new EC2Client({
    ...(region ? { region } : {}),
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000, throwOnRequestTimeout: true },
  });
}

/**
 * For the metrics reporter on web instances: bounded requests, so that stopping never waits on a hung
 * connection; the SDK's standard retries (with backoff on throttling) still apply within one send.
 */
export function createCloudWatchClient(region: string): CloudWatchClient {
  return new CloudWatchClient({
    region,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000 },
  });
}

/** For the metrics reporter: finding the instance's Auto Scaling group once at start. */
export function createAutoScalingClient(region: string): AutoScalingClient {
  return new AutoScalingClient({ region });
}

/** For `npm run bake-ami` (run from a workstation): the builder instance, the image, the bundle, the AMI id. */
export function createBakeClients(region: string): {
  ec2: EC2Client;
  ssm: SSMClient;
  s3: S3Client;
  sts: STSClient;
} {
  return {
    ec2: new EC2Client({ region }),
    ssm: new SSMClient({ region }),
    s3: new S3Client({ region }),
    sts: new STSClient({ region }),
  };
}

/**
 * For the failover controller (Lambda): each request is bounded, so that one hung call cannot eat the run's time
 * budget (handlers/failover/deadline.ts reserves about one request); the SDK's retries with backoff still apply.
 */
export function createFailoverClients(): { ec2: EC2Client; dynamodb: DynamoDBClient } {
  // throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
  const requestHandler = { requestTimeout: 5_000, connectionTimeout: 2_000, throwOnRequestTimeout: true };
  // One attempt per call: a throttled or timed-out call is a transient error that the next run (at most a
  // minute later) retries, and the run's deadline reserve only has to cover one request, not a retry chain.
  const settings = { requestHandler, maxAttempts: 1 };
  return { ec2: new EC2Client(settings), dynamodb: new DynamoDBClient(settings) };
}

/** For `npm run loadtest -- --stage NAME` (run from a workstation): the stage's stack outputs. */
export function createCloudFormationClient(region: string): CloudFormationClient {
  return new CloudFormationClient({ region });
}
