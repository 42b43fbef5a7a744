import type { Logger } from '../../shared/logger';
import { DatabaseUnavailableError, DuplicateValueError } from '../db/database-errors';
import { PrimeQueueFullError } from '../prime/prime-checker';
import { type Answer, BODY_LIMIT_BYTES, DATABASE_RETRY_AFTER_SECONDS } from './answer';
import {
  ConflictError,
  HttpError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  ValidationError,
} from './errors';

// The app's one error handler, for the Express app and the node:http fast paths alike: the lower layers throw
// their own errors (database, prime pool, body reader), this module alone says what each means in HTTP.

/** The pause a client is asked to wait when the prime pool's queue is full. */
const PRIME_RETRY_AFTER_SECONDS = 1;

/** Body-reading errors carry body-parser's `type` (json-body.ts uses the same); they are the client's mistakes. */
function fromBodyReader(error: unknown): HttpError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return new ValidationError('body is not valid JSON', 'body');
  if (type === 'entity.too.large')
    return new PayloadTooLargeError(`body is larger than ${BODY_LIMIT_BYTES / 1024}kb`);
  if (typeof type === 'string') return new ValidationError('body cannot be read', 'body');
  return undefined;
}

/** The database layer's errors in HTTP terms: a taken value is the client's conflict, an absent database a 503. */
function fromDatabase(error: unknown): HttpError | undefined {
  if (error instanceof DuplicateValueError) return new ConflictError(error.field);
  if (error instanceof DatabaseUnavailableError) {
    const message = 'database unavailable, try again shortly';
    const options = { cause: error.cause ?? error };
    return new ServiceUnavailableError(message, DATABASE_RETRY_AFTER_SECONDS, options);
  }
  return undefined;
}

/** The prime pool in HTTP terms: a full queue is a 503, retried after a pause. */
function fromPrimePool(error: unknown): HttpError | undefined {
  if (error instanceof PrimeQueueFullError)
    return new ServiceUnavailableError(error.message, PRIME_RETRY_AFTER_SECONDS, { cause: error });
  return undefined;
}

/**
 * The app's error handler: turns any error into what a client may see (http/errors.ts), logging what an
 * operator needs. Anything unknown is a bug: logged with its stack, answered 500 without details.
 */
export function answerForError(error: unknown, logger: Logger, requestId: unknown): Answer {
  const known =
    error instanceof HttpError
      ? error
      : (fromBodyReader(error) ?? fromDatabase(error) ?? fromPrimePool(error));
  if (!known) {
    logger.error({ requestId, err: error }, 'unhandled error');
    return { status: 500, json: JSON.stringify({ error: 'internal error' }) };
  }
  if (known.status === 401)
    logger.info({ requestId, reason: String(known.cause ?? known.message) }, 'unauthenticated');
  if (known instanceof ServiceUnavailableError) {
    logger.warn({ requestId, err: known.cause ?? known }, known.message);
    return {
      status: known.status,
      json: JSON.stringify(known.body()),
      headers: { 'Retry-After': String(known.retryAfterSeconds) },
    };
  }
  return { status: known.status, json: JSON.stringify(known.body()) };
}
