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
  } catch (error) {
    discardUnlessAnswered(connection, error);
    throw error;
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * A connection whose query failed without an answer from the server (pg's client-side `query_timeout`, a reset,
 * a dropped flow) is in an unknown state: the query may still be running, its answer may arrive later and be
 * taken for the next query's, and a flow the network dropped silently (a moved VIP route) never answers again.
 * Such a connection is closed and marked for knex's pool, which then destroys it instead of lending it again. An
 * error the server answered (it carries a SQLSTATE, e.g. a statement_timeout cancel or a duplicate key) leaves the
 * connection as good as before.
 */
export function discardUnlessAnswered(connection: unknown, error: unknown): void {
  const sqlState = (error as { code?: unknown } | undefined)?.code;
  if (typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState)) return;
  const raw = connection as {
    __knex__disposed?: unknown;
    connection?: { stream?: { destroy(): void } };
  };
  raw.__knex__disposed = error instanceof Error ? error.message : String(error);
  raw.connection?.stream?.destroy();
}
