import { createSecretsManagerClient, createStsClient } from '../../lib/aws-clients';
import type { WebConfig } from '../config';
import {
  type ConnectionProvider,
  crossAccountSecretProvider,
  urlConnectionProvider,
} from './connection-provider';

export function providerFromConfig(config: WebConfig): ConnectionProvider {
  if (config.DATABASE_URL) return urlConnectionProvider(config.DATABASE_URL);
  // readWebConfig guarantees the three secret settings when DATABASE_URL is absent.
  const roleArn = config.DB_SECRET_ROLE_ARN ?? '';
  const secretId = config.DB_SECRET_ID ?? '';
  const secretRegion = config.DB_SECRET_REGION ?? '';
  return crossAccountSecretProvider({
    sts: createStsClient(),
    secretsManagerFor: createSecretsManagerClient,
    roleArn,
    secretId,
    secretRegion,
    defaultHost: config.VIRTUAL_IP,
  });
}
