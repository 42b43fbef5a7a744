import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger';
import { createApp } from './app';
import type { ConnectionProvider } from './db/connection-provider';
import { createDatabase } from './db/database';
import { knexDatabaseHealth } from './db/database-health';
import { staticRouteServer, staticRoutes } from './http/static-routes';
import { usersFastPath } from './http/users-fast-path';
import { type PrimeChecker, pooledPrimeChecker } from './prime/prime-checker';
import { knexUsersRepository } from './users/users-repository';
import { usersRoutes } from './users/users-routes';

export interface WebServerOptions {
  provider: ConnectionProvider;
  logger: Logger;
  port: number;
  host?: string;
  loadThreads: number;
  loadQueueLimit: number;
  dbPoolMax?: number;
  shutdownGraceMs: number;
}

export interface RunningWebServer {
  server: Server;
  port: number;
  db: Knex;
  /** Stops accepting, lets in-flight requests finish (bounded by the grace period), closes the pools. */
  stop(): Promise<void>;
}

// The ALB keeps idle connections for 60 s; the server must keep them longer or the ALB sees resets (502).
const KEEP_ALIVE_MS = 65_000;

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const { logger } = options;
  const db = createDatabase({ provider: options.provider, poolMax: options.dbPoolMax ?? 10, logger });
  const primeChecker: PrimeChecker = pooledPrimeChecker({
    threads: options.loadThreads,
    maxQueue: options.loadQueueLimit,
  });
  let shuttingDown = false;
  const isShuttingDown = () => shuttingDown;
  const routes = staticRoutes();
  const users = knexUsersRepository(db);
  const app = createApp({
    users,
    database: knexDatabaseHealth(db),
    primeChecker,
    logger,
    staticRoutes: routes,
    isShuttingDown,
  });
  const serveStatic = staticRouteServer(routes, { logger, isShuttingDown });
  const serveUsers = usersFastPath(usersRoutes(users), { logger, isShuttingDown });
  const server = createServer((req, res) => {
    if (!serveStatic(req, res) && !serveUsers(req, res)) app(req, res);
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => {
        logger.warn('grace period over, closing remaining connections');
        server.closeAllConnections();
      }, options.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await Promise.all([primeChecker.close(), db.destroy()]);
    })();
    return stopping;
  };
  return { server, port, db, stop };
}
