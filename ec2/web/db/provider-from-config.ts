import { createSecretsManagerClient, createSsmClient, createStsClient } from '../../lib/aws-clients';
import type { WebConfig } from '../config';
import {
  type ConnectionProvider,
  crossAccountSecretProvider,
  urlConnectionProvider,
  withVerifiedTls,
} from './connection-provider';
import { onHost } from './reader-provider';
import { fileServerCa, type ServerCaSource, ssmServerCa } from './server-tls';

export interface DatabaseProviders {
  writer: ConnectionProvider;
  /** Where replica-tolerant reads go; undefined = the writer serves them too. */
  reader?: ConnectionProvider;
}

export function providersFromConfig(config: WebConfig): DatabaseProviders {
  if (config.DATABASE_URL) {
    return {
      writer: urlConnectionProvider(config.DATABASE_URL),
      ...(config.DATABASE_READER_URL ? { reader: urlConnectionProvider(config.DATABASE_READER_URL) } : {}),
    };
  }
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
    defaultHost: config.DB_WRITER_HOST ?? config.VIRTUAL_IP,
  });
  const ca = serverCaFromConfig(config);
  // One secret for both: the reader logs in with the same credentials, read once; each verifies its server.
  return {
    writer: withVerifiedTls(secret, ca),
    ...(config.DB_READER_HOST ? { reader: withVerifiedTls(onHost(secret, config.DB_READER_HOST), ca) } : {}),
  };
}

/** The one place that decides where the database CA comes from: readWebConfig guarantees exactly one source. */
function serverCaFromConfig(config: WebConfig): ServerCaSource {
  if (config.DB_CA_FILE) return fileServerCa(config.DB_CA_FILE);
  return ssmServerCa({ ssm: createSsmClient(), parameterName: config.DB_CA_PARAMETER ?? '' });
}

export function providerFromConfig(config: WebConfig): ConnectionProvider {
  return providersFromConfig(config).writer;
}
