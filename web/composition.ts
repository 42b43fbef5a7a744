import type { Express, RequestHandler } from 'express';
import type { Knex } from 'knex';
import type { ConnectionProvider } from '../shared/database-access/connection-provider';
import type { Logger } from '../shared/logger';
import { createApp } from './app';
import { createDatabase } from './db/database';
import { knexDatabaseHealth } from './db/database-health';
import { migrateToLatest } from './db/migrate';
import { readRoute } from './db/read-routing';
import type { PrimeChecker } from './prime/prime-checker';
import { knexUsersRepository, type UsersRepository } from './users/users-repository';

// The web app's one composition root: every program that serves it (the instance's HTTP server, web/server.ts;
// the `api` Lambda, web/lambda-app.ts) and the instance's migration step (web/instance-supervisor.ts) build its
// pools, repositories and Express app here, each with its own sizes and names.

export interface WebPools {
  db: Knex;
  /** The reader's pool, when a reader is configured; replica-tolerant reads go there. */
  reader?: Knex;
}

/** The writer's pool, and the reader's when there is one (`<applicationName>-reader` in pg_stat_activity). */
export function openPools(
  providers: { writer: ConnectionProvider; reader?: ConnectionProvider | undefined },
  options: { poolMax: number; applicationName: string; logger?: Logger },
): WebPools {
  const { poolMax, applicationName, logger } = options;
  const db = createDatabase({
    provider: providers.writer,
    poolMax,
    applicationName,
    ...(logger ? { logger } : {}),
  });
  if (!providers.reader) return { db };
  const reader = createDatabase({
    provider: providers.reader,
    poolMax,
    applicationName: `${applicationName}-reader`,
    ...(logger ? { logger } : {}),
  });
  return { db, reader };
}

/** The Express app on those pools, and the users repository the node:http fast paths share with it. */
export function composeWebApp(
  pools: WebPools,
  parts: {
    primeChecker: PrimeChecker;
    logger: Logger;
    authenticate?: RequestHandler | undefined;
    basePath?: string;
    staticRoutes?: ReadonlyMap<string, string>;
    isShuttingDown?: () => boolean;
  },
): { app: Express; users: UsersRepository } {
  const { db, reader } = pools;
  const users = knexUsersRepository(db, readRoute(db, reader, parts.logger));
  const { authenticate, ...rest } = parts;
  const app = createApp({
    ...rest,
    users,
    database: knexDatabaseHealth(db, reader),
    ...(authenticate ? { authenticate } : {}),
  });
  return { app, users };
}

/** Migrates the schema to the latest version through a pool of its own, closed afterwards; the names applied. */
export async function migrateWithOwnPool(provider: ConnectionProvider, logger: Logger): Promise<string[]> {
  const db = createDatabase({ provider, poolMax: 1, logger });
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
