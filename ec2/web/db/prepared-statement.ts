import type { Knex } from 'knex';
import { toDatabaseError } from './database-errors';

/** A SQL statement that PostgreSQL parses and plans once per connection, then only executes. */
export interface PreparedStatement {
  name: string;
  /** The SQL, with `?` for each value (knex turns them into `$1`, `$2`, ...). */
  text: string;
}

/**
 * Runs a named prepared statement on the knex pool, through knex's public API: `raw(...).options(...)` hands
 * its options to pg's query config, where a `name` makes pg prepare the statement once per connection. The hot
 * queries skip the query builder and PostgreSQL's parse and plan steps; the pool, its timeouts and its eviction
 * of broken connections stay the same as for every other query. That knex passes the name on is checked by
 * test/integration/web/users-repository.test.ts (a knex upgrade that drops it fails there, not in production).
 * Failures come out as database-level errors (database-errors.ts).
 */
export async function runPrepared<Row>(
  db: Knex,
  statement: PreparedStatement,
  values: readonly Knex.Value[],
): Promise<Row[]> {
  try {
    const result = (await db.raw(statement.text, values).options({ name: statement.name })) as {
      rows: Row[];
    };
    return result.rows;
  } catch (error) {
    throw toDatabaseError(error);
  }
}
