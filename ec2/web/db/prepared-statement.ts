import type { Knex } from 'knex';

/** A SQL statement that PostgreSQL parses and plans once per connection, then only executes. */
export interface PreparedStatement {
  name: string;
  text: string;
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a named prepared statement on a connection from the knex pool. The hot queries skip knex's query
 * builder and PostgreSQL's parse and plan steps; the pool, its timeouts and its eviction of broken
 * connections stay the same as for every other query.
 */
export async function runPrepared<Row>(
  db: Knex,
  statement: PreparedStatement,
  values: unknown[],
): Promise<Row[]> {
  const connection = (await db.client.acquireConnection()) as PgConnection;
  try {
    const { rows } = await connection.query({ name: statement.name, text: statement.text, values });
    return rows as Row[];
  } finally {
    await db.client.releaseConnection(connection);
  }
}
