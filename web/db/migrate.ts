import { setTimeout as sleep } from 'node:timers/promises';
import knex, { type Knex } from 'knex';
import * as createUsers from './migrations/20260101000000-create-users';

// Migrations are imported, not discovered on disk, so that they travel inside the esbuild bundle.
const MIGRATIONS: Record<string, Knex.Migration> = {
  '20260101000000-create-users': createUsers,
};

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = MIGRATIONS[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};

/** Any fixed 64-bit number, the same in every instance: the key of the PostgreSQL advisory lock. */
const MIGRATION_LOCK_KEY = 7_110_105_110_121; // "cloudy"

class MigrationTimeoutError extends Error {
  override readonly name = 'MigrationTimeoutError';
}

/**
 * Brings the schema up to date; returns the migrations this call applied. Several web instances boot at
 * once, and knex's own migration lock cannot protect its first use: two instances that find no lock
 * table both create it and both insert its row, after which the lock stays "already locked" for ever
 * (test/integration/web/migrations.test.ts races them). So instances first take a PostgreSQL advisory lock, held by a
 * transaction on a connection of its own (the app's pool may have a single connection), and only the
 * holder runs knex's migrations, which still take knex's lock inside. The lock is polled rather than
 * waited for, so no statement or query timeout of the pool applies to the wait.
 */
export async function migrateToLatest(
  db: Knex,
  { timeoutMs = 60_000, retryMs = 250 } = {},
): Promise<string[]> {
  const { config } = db.client as { config: Knex.Config };
  const lockHolder = knex({ ...config, pool: { min: 0, max: 1 } });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const applied = await lockHolder.transaction(async (trx) => {
        const { rows } = await trx.raw('select pg_try_advisory_xact_lock(?) as locked', [MIGRATION_LOCK_KEY]);
        if (!rows[0]?.locked) return undefined;
        const [, names] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
        return names;
      });
      if (applied) return applied;
      if (Date.now() > deadline)
        throw new MigrationTimeoutError('another instance held the migration lock too long');
      await sleep(retryMs);
    }
  } finally {
    await lockHolder.destroy();
  }
}
