/** Errors the HTTP layer turns into a status code and a JSON body. Nothing else reaches a client. */
export abstract class HttpError extends Error {
  abstract readonly status: number;
  /** Extra fields for the JSON body (never internals). */
  body(): Record<string, unknown> {
    return { error: this.message };
  }
}

/** The client sent something we cannot accept; `field` names the offending input. */
export class ValidationError extends HttpError {
  override readonly name = 'ValidationError';
  readonly status = 400;
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
  override body() {
    return this.field ? { error: this.message, field: this.field } : { error: this.message };
  }
}

export class PayloadTooLargeError extends HttpError {
  override readonly name = 'PayloadTooLargeError';
  readonly status = 413;
}

export class NotFoundError extends HttpError {
  override readonly name = 'NotFoundError';
  readonly status = 404;
}

/** A unique value (username or email) is already taken. */
export class ConflictError extends HttpError {
  override readonly name = 'ConflictError';
  readonly status = 409;
  constructor(readonly field: string) {
    super(`${field} already exists`);
  }
  override body() {
    return { error: this.message, field: this.field };
  }
}

/** Temporarily unable to serve (full work queue, database away); the client should retry after a pause. */
export class ServiceUnavailableError extends HttpError {
  override readonly name = 'ServiceUnavailableError';
  readonly status = 503;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
