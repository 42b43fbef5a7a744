import type { Knex } from 'knex';
import { toDatabaseError } from './database-errors';
import { withPoolConnection } from './knex-pool-connection';

/** A SQL statement that PostgreSQL parses and plans once per connection, then only executes. */
export interface PreparedStatement {
  name: string;
  /** The SQL, with `$1`, `$2`, ... for the values. */
  text: string;
  /** 'array': each row as an array of its columns in select order (no object per row). */
  rowMode?: 'array';
}

/**
 * Runs a named prepared statement on a connection of the knex pool, straight through pg. The hot queries skip
 * knex's query builder and runner (measured here: the runner cost more Node CPU per list request than the
 * list's rows) and PostgreSQL's parse and plan steps; the pool, its timeouts and its eviction of broken
 * connections stay the same as for every other query. Failures come out as database-level errors.
 */
export async function runPrepared<Row>(
  db: Knex,
  statement: PreparedStatement,
  values: readonly unknown[],
): Promise<Row[]> {
  try {
    return await withPoolConnection(db, async (connection) => {
      const { rows } = await connection.query({ ...statement, values });
      return rows as Row[];
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}
