import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from '../lib/logger';
import { DatabaseUnavailableError, DuplicateValueError } from './db/database-errors';
import type { DatabaseHealth } from './db/database-health';
import {
  ConflictError,
  HttpError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  ValidationError,
} from './http/errors';
import { type RequestLogOptions, startRequestLog } from './http/request-log';
import { staticRoutes } from './http/static-routes';
import { parseLoadNumber } from './prime/load-input';
import type { PrimeChecker } from './prime/prime-checker';
import { parseNewUser, parseUserPage } from './users/user-input';
import type { UsersRepository } from './users/users-repository';

export interface AppDependencies {
  users: UsersRepository;
  /** What `GET /ready` asks. */
  database: DatabaseHealth;
  primeChecker: PrimeChecker;
  logger: Logger;
  /** `GET /` and `GET /health` (see http/static-routes.ts); the server may also answer them ahead of Express. */
  staticRoutes?: ReadonlyMap<string, string>;
  /** Returns true once shutdown has begun: responses then ask the client to close the connection. */
  isShuttingDown?: () => boolean;
  /** Path prefix the clients see in front of the app's routes (`/lambda` behind the ALB), for links. */
  basePath?: string;
}

const BODY_LIMIT = '4kb';

export function createApp(deps: AppDependencies): express.Express {
  const { users, database, primeChecker, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestContext({ logger, isShuttingDown: deps.isShuttingDown ?? (() => false) }));
  app.use(express.json({ limit: BODY_LIMIT, strict: true }));

  for (const [path, body] of deps.staticRoutes ?? staticRoutes()) {
    app.get(path, (_req, res) => {
      res.type('application/json').send(body);
    });
  }

  app.get('/ready', async (_req, res) => {
    await database.ping();
    res.json({ status: 'ready' });
  });

  app.get('/users', async (req, res) => {
    const page = parseUserPage(req.query);
    const { json, count, lastId } = await users.list(page);
    if (lastId !== null && count === page.limit) {
      res.setHeader('Link', `<${deps.basePath ?? ''}/users?limit=${page.limit}&after=${lastId}>; rel="next"`);
    }
    res.type('application/json').send(json);
  });

  app.post('/users', async (req, res) => {
    const user = parseNewUser(req.body);
    await users.add(user);
    res.status(201).json({ message: `user ${user.username} added successfully` });
  });

  app.get('/load', async (req, res) => {
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

/** body-parser's own errors carry a `type`; they are the client's mistakes, never a 500. */
function fromBodyParser(error: unknown): HttpError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return new ValidationError('body is not valid JSON', 'body');
  if (type === 'entity.too.large') return new PayloadTooLargeError(`body is larger than ${BODY_LIMIT}`);
  if (typeof type === 'string') return new ValidationError('body cannot be read', 'body');
  return undefined;
}

/** The database layer's errors in HTTP terms: a taken value is the client's conflict, an absent database a 503. */
function fromDatabase(error: unknown): HttpError | undefined {
  if (error instanceof DuplicateValueError) return new ConflictError(error.field);
  if (error instanceof DatabaseUnavailableError) {
    return new ServiceUnavailableError('database unavailable, try again shortly', 2, {
      cause: error.cause ?? error,
    });
  }
  return undefined;
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const requestId: unknown = res.locals.requestId;
    if (res.headersSent) return;
    const known = error instanceof HttpError ? error : (fromBodyParser(error) ?? fromDatabase(error));
    if (!known) {
      logger.error({ requestId, err: error }, 'unhandled error');
      res.status(500).json({ error: 'internal error' });
      return;
    }
    if (known instanceof ServiceUnavailableError) {
      logger.warn({ requestId, err: known.cause ?? known }, known.message);
      res.setHeader('Retry-After', String(known.retryAfterSeconds));
    }
    res.status(known.status).json(known.body());
  };
}
