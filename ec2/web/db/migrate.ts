import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
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

/**
 * Brings the schema up to date under knex's migration lock. Several web instances boot at once; knex
 * answers "already locked" instead of waiting, so a booting instance waits for the other to finish.
 */
export async function migrateToLatest(
  db: Knex,
  { timeoutMs = 60_000, retryMs = 250 } = {},
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
      return applied;
    } catch (error) {
      const locked = error instanceof Error && error.name === 'MigrationLocked';
      if (!locked || Date.now() > deadline) throw error;
      await sleep(retryMs);
    }
  }
}
