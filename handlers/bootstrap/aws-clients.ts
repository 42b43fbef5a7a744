import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

// The function has 60 s to answer CloudFormation, failure included (resources/bootstrap-function-aurora.yml): a
// call that hangs (the NAT still booting, a dropped connection) must fail within seconds, not use that time up.
// The SDK's defaults have no request timeout.
const TIMEOUTS = { requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 } };

/** This account's Secrets Manager: the Aurora administrator's secret, which RDS keeps here (../database-bootstrap.ts). */
export function createAccountSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({ ...TIMEOUTS });
}

/** This account's STS, to assume the secrets account's role. */
export function createBootstrapStsClient(): STSClient {
  return new STSClient({ ...TIMEOUTS });
}

/** The secrets account's Secrets Manager, with the assumed role's credentials. */
export function createBootstrapSecretsManagerClient(
  region: string,
  credentials: AwsCredentialIdentity,
): SecretsManagerClient {
  return new SecretsManagerClient({ region, credentials, ...TIMEOUTS });
}
