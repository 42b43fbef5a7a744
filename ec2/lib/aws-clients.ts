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
