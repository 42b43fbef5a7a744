import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

// The web app's real AWS clients, for the database login on AWS (the rest of it receives clients as parameters,
// so tests pass mocked ones). The SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_*, credentials chain) apply.

/** This account's STS, to assume the secrets account's role. */
export function createStsClient(): STSClient {
  return new STSClient({});
}

/** This account's SSM, for the database tier's CA certificate (./server-tls.ts). */
export function createSsmClient(): SSMClient {
  return new SSMClient({});
}

/** The secrets account's Secrets Manager, with the assumed role's credentials. */
export function createSecretsManagerClient(
  region: string,
  credentials: AwsCredentialIdentity,
): SecretsManagerClient {
  return new SecretsManagerClient({ region, credentials });
}
