import type { Knex } from 'knex';
import { toDatabaseError } from './database-errors';

/** The readiness check's view of the database. */
export interface DatabaseHealth {
  /** Resolves when the database answers a trivial query; rejects with a DatabaseUnavailableError when away. */
  ping(): Promise<void>;
}

export function knexDatabaseHealth(db: Knex): DatabaseHealth {
  return {
    async ping() {
      try {
        await db.raw('select 1');
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
  };
}
