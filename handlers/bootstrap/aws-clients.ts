import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** This account's Secrets Manager: the Aurora administrator's secret, which RDS keeps here (../database-bootstrap.ts). */
export function createAccountSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}
