import { tlsVerificationFailure } from '../../shared/database-access/server-tls';

// What the database layer throws besides bugs: database-level facts, for the app to put in HTTP terms.

/** A unique constraint refused a value; `field` is the column it guards. */
export class DuplicateValueError extends Error {
  override name = 'DuplicateValueError';
  constructor(
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(`duplicate value for ${field}`, options);
  }
}

/** The database is away, moving or refusing our credentials for now: the same request may work shortly. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

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
const UNIQUE_VIOLATION = '23505';

interface DriverError {
  name?: unknown;
  code?: unknown;
  constraint?: unknown;
  table?: unknown;
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
  // Already translated (runPrepared's errors, which the read routing also sees).
  if (error instanceof DatabaseUnavailableError) return true;
  const { name, code, message } = asDriverError(error);
  if (name === 'KnexTimeoutError') return true;
  // An untrusted server is never talked to: to the client that is the database being away (logged apart).
  if (tlsVerificationFailure(error)) return true;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET_CODES.has(code)))
    return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

/**
 * The column a unique violation is about, from the constraint's name in knex's `<table>_<column>_unique`
 * convention (the migrations use `.unique()`); 'value' for a constraint named otherwise.
 */
function uniqueColumn({ constraint, table }: DriverError): string {
  if (typeof constraint !== 'string' || typeof table !== 'string') return 'value';
  const prefix = `${table}_`;
  const suffix = '_unique';
  const fits =
    constraint.length > prefix.length + suffix.length &&
    constraint.startsWith(prefix) &&
    constraint.endsWith(suffix);
  return fits ? constraint.slice(prefix.length, -suffix.length) : 'value';
}

/** The database-level error a driver error stands for, or the error itself when it is a bug. */
export function toDatabaseError(error: unknown): unknown {
  const driverError = asDriverError(error);
  if (driverError.code === UNIQUE_VIOLATION) {
    return new DuplicateValueError(uniqueColumn(driverError), { cause: error });
  }
  if (isDatabaseUnavailable(error))
    return new DatabaseUnavailableError('database unavailable', { cause: error });
  return error;
}
