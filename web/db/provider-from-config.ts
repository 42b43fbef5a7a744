import {
  type ConnectionProvider,
  crossAccountSecretProvider,
  urlConnectionProvider,
  withVerifiedTls,
} from '../../shared/database-access/connection-provider';
import { fileServerCa, ssmServerCa } from '../../shared/database-access/server-tls';
import type { WebConfig } from '../config';
import { createSecretsManagerClient, createSsmClient, createStsClient } from './aws-clients';
import { onHost } from './reader-provider';

interface DatabaseProviders {
  writer: ConnectionProvider;
  /** Where replica-tolerant reads go; undefined = the writer serves them too. */
  reader?: ConnectionProvider;
}

export function providersFromConfig({ database }: WebConfig): DatabaseProviders {
  if (database.kind === 'url') {
    return {
      writer: urlConnectionProvider(database.url),
      ...(database.readerUrl ? { reader: urlConnectionProvider(database.readerUrl) } : {}),
    };
  }
  const secret = crossAccountSecretProvider({
    sts: createStsClient(),
    secretsManagerFor: createSecretsManagerClient,
    roleArn: database.roleArn,
    secretId: database.secretId,
    secretRegion: database.secretRegion,
    defaultHost: database.writerHost,
  });
  const ca =
    database.ca.kind === 'file'
      ? fileServerCa(database.ca.path)
      : ssmServerCa({ ssm: createSsmClient(), parameterName: database.ca.name });
  // One secret for both: the reader logs in with the same credentials, read once; each verifies its server.
  return {
    writer: withVerifiedTls(secret, ca),
    ...(database.readerHost ? { reader: withVerifiedTls(onHost(secret, database.readerHost), ca) } : {}),
  };
}

export function providerFromConfig(config: WebConfig): ConnectionProvider {
  return providersFromConfig(config).writer;
}
