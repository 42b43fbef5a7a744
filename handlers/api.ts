// The same Express app as on the web instances, served by Lambda behind the ALB under /lambda.
import serverless from 'serverless-http';
import { createLogger } from '../ec2/lib/logger';
import { createApp } from '../ec2/web/app';
import { authenticationFromConfig } from '../ec2/web/authentication-from-config';
import { readWebConfig } from '../ec2/web/config';
import { createDatabase } from '../ec2/web/db/database';
import { knexDatabaseHealth } from '../ec2/web/db/database-health';
import { migrateToLatest } from '../ec2/web/db/migrate';
import { providersFromConfig } from '../ec2/web/db/provider-from-config';
import { readRoute } from '../ec2/web/db/read-routing';
import { inlinePrimeChecker } from '../ec2/web/prime/prime-checker';
import { knexUsersRepository } from '../ec2/web/users/users-repository';

const logger = createLogger('api');
const config = readWebConfig();
// One request at a time per Lambda instance: one connection, and the prime check on the calling thread.
const providers = providersFromConfig(config);
const db = createDatabase({ provider: providers.writer, poolMax: 1, applicationName: 'cloudy-api' });
const reader = providers.reader
  ? createDatabase({ provider: providers.reader, poolMax: 1, applicationName: 'cloudy-api-reader' })
  : undefined;
let migrated: Promise<unknown> | undefined;

const BASE_PATH = '/lambda';
const app = createApp({
  users: knexUsersRepository(db, readRoute(db, reader, logger)),
  database: knexDatabaseHealth(db, reader),
  primeChecker: inlinePrimeChecker(),
  logger,
  basePath: BASE_PATH,
  authenticate: authenticationFromConfig(config),
});
const serve = serverless(app, { basePath: BASE_PATH });

export const handler = async (event: object, context: object) => {
  // Migrate once per Lambda instance, lazily, so that a database outage does not fail the cold start.
  migrated ??= migrateToLatest(db).catch((error: unknown) => {
    migrated = undefined;
    logger.warn({ err: error }, 'schema migration deferred');
  });
  await migrated;
  return serve(event, context);
};
