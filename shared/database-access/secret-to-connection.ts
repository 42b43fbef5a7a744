import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';

/** The parts of a PostgreSQL connection that come from configuration rather than from code. */
export interface DatabaseConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS settings (./server-tls.ts); absent only for a DATABASE_URL, which carries its own sslmode. */
  ssl?: ConnectionOptions;
}

// The shape Secrets Manager uses for database secrets (RDS-style): host is optional because the
// database tier is reached through the virtual IP, which the web tier knows from its own configuration.
const databaseSecret = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().min(1).max(65535).optional(),
  dbname: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
});

export class InvalidSecretError extends Error {
  override readonly name = 'InvalidSecretError';
}

/**
 * Turns a secret's JSON text into a connection. Error messages name the missing or wrong keys and never
 * echo the secret's values.
 */
export function secretToConnection(secretString: string, defaultHost: string): DatabaseConnection {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new InvalidSecretError('database secret is not valid JSON');
  }
  const result = databaseSecret.safeParse(parsed);
  if (!result.success) {
    const keys = [...new Set(result.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    throw new InvalidSecretError(`database secret has missing or invalid keys: ${keys.join(', ')}`);
  }
  const secret = result.data;
  return {
    host: secret.host ?? defaultHost,
    port: secret.port ?? 5432,
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? secret.database ?? 'postgres',
  };
}
