import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import type { ConnectionProvider } from '../shared/database-access/connection-provider';
import type { Logger } from '../shared/logger';
import { composeWebApp, openPools } from './composition';
import { staticRouteServer, staticRoutes } from './http/static-routes';
import { usersFastPath } from './http/users-fast-path';
import { type PrimeChecker, pooledPrimeChecker } from './prime/prime-checker';
import { usersRoutes } from './users/users-routes';

interface WebServerOptions {
  provider: ConnectionProvider;
  /** Where replica-tolerant reads (`GET /users`) go; absent = the writer serves them. */
  readerProvider?: ConnectionProvider;
  logger: Logger;
  port: number;
  host?: string;
  loadThreads: number;
  loadQueueLimit: number;
  /** Database connections per pool (DB_POOL_MAX). */
  dbPoolMax: number;
  shutdownGraceMs: number;
  /** Guards POST /users and GET /load when set (./authentication-from-config.ts). */
  authenticate?: RequestHandler;
}

export interface RunningWebServer {
  server: Server;
  port: number;
  db: Knex;
  /** The reader's pool, when a reader is configured. */
  reader?: Knex;
  /** Stops accepting, lets in-flight requests finish (bounded by the grace period), closes the pools. */
  stop(): Promise<void>;
}

// The ALB keeps idle connections for 60 s; the server must keep them longer or the ALB sees resets (502).
const KEEP_ALIVE_MS = 65_000;

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const { logger } = options;
  const { db, reader } = openPools(
    { writer: options.provider, reader: options.readerProvider },
    { poolMax: options.dbPoolMax, applicationName: 'cloudy-web', logger },
  );
  const primeChecker: PrimeChecker = pooledPrimeChecker({
    threads: options.loadThreads,
    maxQueue: options.loadQueueLimit,
  });
  let shuttingDown = false;
  const isShuttingDown = () => shuttingDown;
  const routes = staticRoutes();
  const { app, users } = composeWebApp(
    { db, ...(reader ? { reader } : {}) },
    { primeChecker, logger, staticRoutes: routes, isShuttingDown, authenticate: options.authenticate },
  );
  const serveStatic = staticRouteServer(routes, { logger, isShuttingDown });
  const serveUsers = usersFastPath(
    usersRoutes(users),
    { logger, isShuttingDown },
    { postsGuarded: options.authenticate !== undefined },
  );
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
      await Promise.all([primeChecker.close(), db.destroy(), reader?.destroy()]);
    })();
    return stopping;
  };
  return { server, port, db, ...(reader ? { reader } : {}), stop };
}
