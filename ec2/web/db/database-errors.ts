import { ConflictError, DatabaseUnavailableError, type HttpError } from '../http/errors';
import { tlsVerificationFailure } from './server-tls';

// SQLSTATE classes and Node socket errors that mean "the database is away or moving", not "the query
// is wrong": connection exceptions (08), operator intervention such as a shutdown (57P01-57P03), a
// statement cancelled by its timeout (57014), and rejected credentials (28) during a secret rotation.
const UNAVAILABLE_SQLSTATE = /^(08|57P0|57014|28)/;
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout/i;

interface DriverError {
  name?: unknown;
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

function asDriverError(error: unknown): DriverError {
  return typeof error === 'object' && error !== null ? (error as DriverError) : {};
}

export function isAuthenticationFailure(error: unknown): boolean {
  const { code } = asDriverError(error);
  return code === '28P01' || code === '28000';
}

export function isDatabaseUnavailable(error: unknown): boolean {
  const { name, code, message } = asDriverError(error);
  if (name === 'KnexTimeoutError') return true;
  // An untrusted server is never talked to: to the client that is the database being away (logged apart).
  if (tlsVerificationFailure(error)) return true;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET_CODES.has(code)))
    return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

/** Maps a driver error to what a client may see, or undefined when it is a bug (answered as 500). */
export function toHttpError(error: unknown): HttpError | undefined {
  const { code, constraint } = asDriverError(error);
  if (code === '23505') {
    // Constraint names follow knex's `<table>_<column>_unique`.
    const field = typeof constraint === 'string' ? constraint.replace(/^users_|_unique$/g, '') : 'value';
    return new ConflictError(field);
  }
  if (isDatabaseUnavailable(error)) {
    return new DatabaseUnavailableError('database unavailable, try again shortly', 2, { cause: error });
  }
  return undefined;
}
