import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

// The one module that builds real AWS clients. Everything else receives clients as parameters, so tests
// pass mocked ones. The SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_*, credentials chain) apply.

export function createStsClient(region?: string): STSClient {
  return new STSClient(region ? { region } : {});
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
    requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: options.requestTimeoutMs },
  });
}

/** For the database sidecar: fencing a peer and moving the virtual-IP route. */
export function createSidecarEc2Client(region?: string): EC2Client {
  return new EC2Client(region ? { region } : {});
}
