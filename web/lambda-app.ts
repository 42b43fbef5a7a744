import type { Express } from 'express';
import type { Logger } from '../shared/logger';
import { authenticationFromConfig } from './authentication-from-config';
import { composeWebApp, openPools } from './composition';
import type { WebConfig } from './config';
import { migrateToLatest } from './db/migrate';
import { providersFromConfig } from './db/provider-from-config';
import { inlinePrimeChecker } from './prime/prime-checker';

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
  const pools = openPools(providersFromConfig(config), { poolMax: 1, applicationName: 'cloudy-api' });
  const { db } = pools;
  const { app } = composeWebApp(pools, {
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
