import { createSecretsManagerClient, createSsmClient, createStsClient } from '../../lib/aws-clients';
import type { WebConfig } from '../config';
import {
  type ConnectionProvider,
  crossAccountSecretProvider,
  urlConnectionProvider,
  withVerifiedTls,
} from './connection-provider';
import { ssmServerCa } from './server-tls';

export function providerFromConfig(config: WebConfig): ConnectionProvider {
  if (config.DATABASE_URL) return urlConnectionProvider(config.DATABASE_URL);
  // readWebConfig guarantees the secret and CA settings when DATABASE_URL is absent.
  const roleArn = config.DB_SECRET_ROLE_ARN ?? '';
  const secretId = config.DB_SECRET_ID ?? '';
  const secretRegion = config.DB_SECRET_REGION ?? '';
  const secret = crossAccountSecretProvider({
    sts: createStsClient(),
    secretsManagerFor: createSecretsManagerClient,
    roleArn,
    secretId,
    secretRegion,
    defaultHost: config.VIRTUAL_IP,
  });
  return withVerifiedTls(
    secret,
    ssmServerCa({ ssm: createSsmClient(), parameterName: config.DB_CA_PARAMETER ?? '' }),
  );
}
