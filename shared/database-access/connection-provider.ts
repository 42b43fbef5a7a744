import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { type DatabaseConnection, secretToConnection } from './secret-to-connection';
import { type ServerCaSource, verifyFullTls } from './server-tls';

/**
 * Where the pool gets its connection settings. `invalidate()` is called when the server rejects the
 * credentials, so that the next connection re-reads them (a rotated secret is picked up without restart).
 */
export interface ConnectionProvider<Settings = DatabaseConnection | { connectionString: string }> {
  get(): Promise<Settings>;
  invalidate(): void;
  isStale(): boolean;
}

/** A fixed `DATABASE_URL` (local runs, tests, or any PostgreSQL the operator points at). */
export function urlConnectionProvider(connectionString: string): ConnectionProvider {
  return { get: async () => ({ connectionString }), invalidate: () => {}, isStale: () => false };
}

export class SecretAccessError extends Error {
  override readonly name = 'SecretAccessError';
}

interface CrossAccountSecretOptions {
  sts: STSClient;
  /** Builds the Secrets Manager client in the secrets account from the assumed role's credentials. */
  secretsManagerFor: (region: string, credentials: AwsCredentialIdentity) => SecretsManagerClient;
  roleArn: string;
  secretId: string;
  secretRegion: string;
  /** Host used when the secret names none: the database tier's virtual IP. */
  defaultHost: string;
}

/** The secret lives in another account: assume a role there, then read the secret with that role. */
export function crossAccountSecretProvider(
  options: CrossAccountSecretOptions,
): ConnectionProvider<DatabaseConnection> {
  let cached: Promise<DatabaseConnection> | undefined;
  let stale = true;

  async function read(): Promise<DatabaseConnection> {
    let credentials: AwsCredentialIdentity;
    try {
      const { Credentials } = await options.sts.send(
        new AssumeRoleCommand({
          RoleArn: options.roleArn,
          RoleSessionName: 'cloudy-web',
          DurationSeconds: 900,
        }),
      );
      if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey) {
        throw new Error('AssumeRole returned no credentials');
      }
      credentials = {
        accessKeyId: Credentials.AccessKeyId,
        secretAccessKey: Credentials.SecretAccessKey,
        ...(Credentials.SessionToken ? { sessionToken: Credentials.SessionToken } : {}),
      };
    } catch (cause) {
      throw new SecretAccessError(`cannot assume role ${options.roleArn}`, { cause });
    }
    let secretString: string | undefined;
    try {
      const client = options.secretsManagerFor(options.secretRegion, credentials);
      ({ SecretString: secretString } = await client.send(
        new GetSecretValueCommand({ SecretId: options.secretId }),
      ));
    } catch (cause) {
      throw new SecretAccessError(`cannot read secret ${options.secretId}`, { cause });
    }
    if (!secretString) throw new SecretAccessError(`secret ${options.secretId} has no string value`);
    return secretToConnection(secretString, options.defaultHost);
  }

  return {
    get() {
      if (!cached || stale) {
        stale = false;
        cached = read().catch((error: unknown) => {
          stale = true; // a failed read is retried by the next connection attempt
          throw error;
        });
      }
      return cached;
    },
    invalidate() {
      stale = true;
    },
    isStale: () => stale,
  };
}

/**
 * Every connection of `provider` over TLS, verified against the CA from `ca` (verify-full). `invalidate()`,
 * called after a rejected login or an untrusted server, re-reads both the credentials and the CA.
 */
export function withVerifiedTls(
  provider: ConnectionProvider<DatabaseConnection>,
  ca: ServerCaSource,
): ConnectionProvider<DatabaseConnection> {
  let caStale = false;
  return {
    async get() {
      caStale = false;
      const [connection, caPem] = await Promise.all([provider.get(), ca.get()]);
      return { ...connection, ssl: verifyFullTls(caPem) };
    },
    invalidate() {
      caStale = true;
      ca.invalidate();
      provider.invalidate();
    },
    isStale: () => caStale || provider.isStale(),
  };
}
