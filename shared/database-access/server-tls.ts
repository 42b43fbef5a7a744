import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';

/**
 * TLS to PostgreSQL, verified like libpq's sslmode=verify-full: the server's certificate must chain to the CA
 * we are given (and to nothing else: `ca` replaces Node's public roots), and must name the host we dial. pg
 * hands that host to tls.connect, so for the virtual IP the address must be in the certificate's SAN.
 */
export function verifyFullTls(caPem: string): ConnectionOptions {
  return { ca: caPem, rejectUnauthorized: true };
}

// Node's codes for "this server is not the one we trust" (X.509 chain and name checks).
const UNTRUSTED_CHAIN = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** A sentence for the operator when a connection failed the server check, else undefined. */
export function tlsVerificationFailure(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return undefined;
  if (UNTRUSTED_CHAIN.has(code))
    return `the database server's certificate is not signed by the configured CA (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the database server's certificate does not name the address we connect to (${code})`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `the database server's certificate is outside its validity period (${code})`;
  return undefined;
}

export class ServerCaError extends Error {
  override readonly name = 'ServerCaError';
}

/** Where the CA comes from; `invalidate()` makes the next `get()` read it again (a new cluster, a new CA). */
export interface ServerCaSource {
  get(): Promise<string>;
  invalidate(): void;
}

/**
 * The database tier's CA certificate from an SSM parameter of this account, which only the database instances
 * may write (userdata/database.sh publishes the CA it created beside PGDATA). Not a secret: its integrity is.
 */
export function ssmServerCa(options: { ssm: SSMClient; parameterName: string }): ServerCaSource {
  return cachedServerCa(options.parameterName, async () => {
    const { Parameter } = await options.ssm.send(new GetParameterCommand({ Name: options.parameterName }));
    return Parameter?.Value;
  });
}

/**
 * CA certificates from a PEM file on this machine: with Aurora, the RDS certificate bundle baked into the AMI
 * (userdata/bake-ami.sh) or the Amazon CA file of Lambda's Node.js runtime (docs/DEPLOY.md, "TLS to the
 * database"). Every certificate in the file is trusted, and nothing else.
 */
export function fileServerCa(path: string): ServerCaSource {
  return cachedServerCa(path, () => readFile(path, 'utf8'));
}

/** Reads the CA once through `read`, again after invalidate() or a failed read; `where` names it in errors. */
function cachedServerCa(where: string, read: () => Promise<string | undefined>): ServerCaSource {
  let cached: Promise<string> | undefined;
  async function readChecked(): Promise<string> {
    let value: string | undefined;
    try {
      value = await read();
    } catch (cause) {
      throw new ServerCaError(`cannot read the database CA from ${where}`, { cause });
    }
    if (!value?.includes('-----BEGIN CERTIFICATE-----'))
      throw new ServerCaError(`${where} holds no PEM certificate`);
    return value;
  }
  return {
    get() {
      cached ??= readChecked().catch((error: unknown) => {
        cached = undefined; // the next connection attempt reads it again
        throw error;
      });
      return cached;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
