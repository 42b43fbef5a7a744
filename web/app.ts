import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from '../shared/logger';
import type { DatabaseHealth } from './db/database-health';
import { BODY_LIMIT_BYTES, DATABASE_RETRY_AFTER_SECONDS, sendAnswer } from './http/answer';
import { answerForError } from './http/error-handler';
import { NotFoundError } from './http/errors';
import { type RequestLogOptions, startRequestLog } from './http/request-log';
import { staticRoutes } from './http/static-routes';
import { parseLoadNumber } from './prime/load-input';
import type { PrimeChecker } from './prime/prime-checker';
import type { UsersRepository } from './users/users-repository';
import { usersRoutes } from './users/users-routes';

interface AppDependencies {
  users: UsersRepository;
  /** Whether the writer and the reader answer (`GET /ready`). */
  database: DatabaseHealth;
  primeChecker: PrimeChecker;
  logger: Logger;
  /** `GET /` and `GET /health` (see http/static-routes.ts); the server may also answer them ahead of Express. */
  staticRoutes?: ReadonlyMap<string, string>;
  /** Returns true once shutdown has begun: responses then ask the client to close the connection. */
  isShuttingDown?: () => boolean;
  /** Path prefix the clients see in front of the app's routes (`/lambda` behind the ALB), for links. */
  basePath?: string;
  /** When set, guards the write and CPU-burning routes (POST /users, GET /load); reads stay open. */
  authenticate?: RequestHandler;
}

export function createApp(deps: AppDependencies): express.Express {
  const { database, primeChecker, logger } = deps;
  const users = usersRoutes(deps.users, deps.basePath);
  const guarded: RequestHandler[] = deps.authenticate ? [deps.authenticate] : [];
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestContext({ logger, isShuttingDown: deps.isShuttingDown ?? (() => false) }));
  app.use(express.json({ limit: BODY_LIMIT_BYTES, strict: true }));

  for (const [path, body] of deps.staticRoutes ?? staticRoutes()) {
    app.get(path, (_req, res) => {
      res.type('application/json').send(body);
    });
  }

  // Ready while the writer answers: without the reader, reads fall back to the writer.
  app.get('/ready', async (_req, res) => {
    const status = await database.status();
    if (status.writer !== 'ready') {
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      res.status(503).json({ status: 'unavailable', ...status });
      return;
    }
    res.json({ status: 'ready', ...status });
  });

  // Also served ahead of Express on the instances (http/users-fast-path.ts), by the same routes.
  app.get('/users', async (req, res) => {
    sendAnswer(res, await users.list(req.query));
  });

  // Also ahead of Express on the instances, but only when unguarded: the guard is an Express handler.
  app.post('/users', ...guarded, async (req, res) => {
    sendAnswer(res, await users.add(req.body));
  });

  app.get('/load', ...guarded, async (req, res) => {
    const number = parseLoadNumber(req.query.number);
    // A client that gives up frees its place in the queue instead of burning a core for nobody.
    const abandoned = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abandoned.abort();
    });
    try {
      const result = await primeChecker.check(number, abandoned.signal);
      res.json({ isPrime: result.isPrime, number, processingTime: result.processingTime });
    } catch (error) {
      if (abandoned.signal.aborted) return; // nobody is waiting for an answer: not an error of ours
      throw error;
    }
  });

  app.use((req) => {
    throw new NotFoundError(`no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));
  return app;
}

function requestContext(log: RequestLogOptions): RequestHandler {
  return (req, res, next) => {
    res.locals.requestId = startRequestLog(
      log,
      { method: req.method, path: req.path, requestIdHeader: req.get('x-request-id') },
      res,
    );
    next();
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    if (res.headersSent) return;
    sendAnswer(res, answerForError(error, logger, res.locals.requestId));
  };
}
