import knex, { type Knex } from 'knex';
import type { ConnectionProvider } from '../../shared/database-access/connection-provider';
import { tlsVerificationFailure } from '../../shared/database-access/server-tls';
import type { Logger } from '../../shared/logger';
import { isAuthenticationFailure } from './database-errors';

interface DatabaseOptions {
  provider: ConnectionProvider;
  /** Connections per process (the web app's DB_POOL_MAX; one for migrations and the Lambda). */
  poolMax: number;
  applicationName?: string;
  /** knex's own warnings (e.g. a failed connection attempt) go here instead of the console. */
  logger?: Logger;
}

// Settings for a database that can move under us (failover to the standby behind the same virtual IP):
// no idle connections are kept on purpose (min 0), a request waits at most 1.5 s for a connection so
// callers get a quick 503 instead of a hang, and every statement has a server-side and a client-side timeout;
// a connection whose query got no answer is discarded (discardUnlessAnswered). A moved route drops the old flows
// silently (no reset): TCP keepalive after 1 s idle, then probes every second (libuv: TCP_KEEPINTVL 1 s,
// TCP_KEEPCNT 10), finds an idle connection dead in about 11 s; one with a query in flight fails at the query timeout.
const ACQUIRE_TIMEOUT_MS = 1_500;
const CONNECT_TIMEOUT_MS = 2_000;
const STATEMENT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 6_000;

export function createDatabase({
  provider,
  poolMax,
  applicationName = 'cloudy-web',
  logger,
}: DatabaseOptions): Knex {
  const db = knex({
    client: 'pg',
    connection: async () => ({
      ...(await provider.get()),
      application_name: applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 1_000,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      // knex calls the connection function again once this says the settings are out of date.
      expirationChecker: () => provider.isStale(),
    }),
    pool: {
      min: 0,
      max: poolMax,
      idleTimeoutMillis: 10_000,
      createTimeoutMillis: CONNECT_TIMEOUT_MS,
      createRetryIntervalMillis: 200,
      propagateCreateError: true,
    },
    acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
    log: {
      warn: (message: unknown) => logger?.warn({ knex: String(message) }, 'database warning'),
      error: (message: unknown) => logger?.error({ knex: String(message) }, 'database error'),
      deprecate: (method: string, alternative: string) =>
        logger?.warn({ method, alternative }, 'knex deprecation'),
      debug: () => {},
    },
  });
  // A rejected password means the secret was rotated, an untrusted server certificate may mean a new CA: the
  // next connection re-reads both. The second is also an operator's problem, and said so in their words.
  db.client.pool.on('createFail', (_eventId: unknown, error: unknown) => {
    const untrusted = tlsVerificationFailure(error);
    if (untrusted) logger?.error({ event: 'database-tls-untrusted' }, untrusted);
    if (untrusted || isAuthenticationFailure(error)) provider.invalidate();
  });
  return db;
}
