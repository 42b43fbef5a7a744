import type { Knex } from 'knex';

/** The part of a pg client that runPrepared uses. */
interface PgConnection {
  query(config: {
    name: string;
    text: string;
    values: readonly unknown[];
    rowMode?: 'array';
  }): Promise<{ rows: unknown[] }>;
}

interface KnexPoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/**
 * Lends `work` a pg connection from the knex pool, with the pool's acquire timeout, and gives it back. knex
 * has no public call for this (a transaction would cost two more round trips), so this is the one place that
 * relies on knex's internal `client.acquireConnection()` and `client.releaseConnection()`;
 * test/integration/web/users-repository.test.ts checks them, so that a knex upgrade that changes them fails a
 * test rather than production.
 */
export async function withPoolConnection<T>(
  db: Knex,
  work: (connection: PgConnection) => Promise<T>,
): Promise<T> {
  const client = db.client as KnexPoolClient;
  const connection = (await client.acquireConnection()) as PgConnection;
  try {
    return await work(connection);
  } finally {
    await client.releaseConnection(connection);
  }
}
