import type { Express } from 'express';
import type { Logger } from '../shared/logger';
import { createApp } from './app';
import { authenticationFromConfig } from './authentication-from-config';
import type { WebConfig } from './config';
import { createDatabase } from './db/database';
import { knexDatabaseHealth } from './db/database-health';
import { migrateToLatest } from './db/migrate';
import { providersFromConfig } from './db/provider-from-config';
import { readRoute } from './db/read-routing';
import { inlinePrimeChecker } from './prime/prime-checker';
import { knexUsersRepository } from './users/users-repository';

interface LambdaWebApp {
  app: Express;
  /** Migrates the schema once per Lambda instance; a failure is logged and tried again on the next request. */
  migrateOnce(): Promise<void>;
}

/**
 * The web app as the `api` Lambda runs it (handlers/api.ts). One request at a time per Lambda instance: one
 * connection per pool, and the prime check on the calling thread.
 */
export function lambdaWebApp(config: WebConfig, logger: Logger, basePath: string): LambdaWebApp {
  const providers = providersFromConfig(config);
  const db = createDatabase({ provider: providers.writer, poolMax: 1, applicationName: 'cloudy-api' });
  const reader = providers.reader
    ? createDatabase({ provider: providers.reader, poolMax: 1, applicationName: 'cloudy-api-reader' })
    : undefined;
  const app = createApp({
    users: knexUsersRepository(db, readRoute(db, reader, logger)),
    database: knexDatabaseHealth(db, reader),
    primeChecker: inlinePrimeChecker(),
    logger,
    basePath,
    authenticate: authenticationFromConfig(config),
  });
  let migrated: Promise<void> | undefined;
  return {
    app,
    // Lazily, on the first request, so that a database outage does not fail the cold start.
    migrateOnce: () =>
      (migrated ??= migrateToLatest(db).then(
        () => undefined,
        (error: unknown) => {
          migrated = undefined;
          logger.warn({ err: error }, 'schema migration deferred');
        },
      )),
  };
}
