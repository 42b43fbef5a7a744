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
 * Several web instances boot at once. knex's migration lock answers "already locked" instead of waiting,
 * and two instances creating knex's own bookkeeping tables at the same moment collide in the catalog
 * (duplicate type or table): in both cases the other instance is migrating, so wait and try again.
 */
function anotherInstanceIsMigrating(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return error.name === 'MigrationLocked' || code === '23505' || code === '42P07';
}

/** Brings the schema up to date under knex's migration lock; returns the migrations this call applied. */
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
      if (!anotherInstanceIsMigrating(error) || Date.now() > deadline) throw error;
      await sleep(retryMs);
    }
  }
}
