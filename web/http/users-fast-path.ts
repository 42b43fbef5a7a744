import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { UsersRoutes } from '../users/users-routes';
import { type Answer, sendAnswer } from './answer';
import { answerForError } from './error-handler';
import { isPlainJson, readJsonBody } from './json-body';
import { type RequestLogOptions, startRequestLog } from './request-log';

/**
 * Serves `GET /users` and `POST /users` (with a plain JSON body) straight from node:http, ahead of Express, and
 * says whether it did; any other request, or a body only Express's parser knows (another charset, compressed),
 * goes on to Express. Same routes (users-routes.ts), error handler, request id, headers and log line as the
 * Express app: Express's routing and response helpers cost about a third of a list request's CPU (measured
 * here: 380 µs per request for Express's 404 against 115 µs for a node:http answer, BENCHMARKS.md).
 * With `postsGuarded` (authentication configured, app.ts), POST /users is left to Express, whose guard is an
 * Express handler: one check, one 401, instead of a second implementation of it here.
 */
export function usersFastPath(
  routes: UsersRoutes,
  log: RequestLogOptions,
  { postsGuarded = false }: { postsGuarded?: boolean } = {},
) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    if (path !== '/users') return false;
    let answer: Promise<Answer>;
    if (req.method === 'GET') {
      const query = queryStart === -1 ? {} : parseQuery(url.slice(queryStart + 1));
      answer = routes.list(query);
    } else if (req.method === 'POST' && !postsGuarded && isPlainJson(req.headers)) {
      answer = readJsonBody(req).then((body) => routes.add(body));
    } else {
      return false;
    }
    const requestId = startRequestLog(
      log,
      { method: req.method, path, requestIdHeader: req.headers['x-request-id'] },
      res,
    );
    answer
      .catch((error: unknown) => answerForError(error, log.logger, requestId))
      .then((done) => {
        if (!res.headersSent) sendAnswer(res, done);
      });
    return true;
  };
}
