import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger';

const REQUEST_ID = /^[A-Za-z0-9._:=-]{1,128}$/;

export interface RequestLogOptions {
  logger: Logger;
  /** Once shutdown has begun, responses ask the client to close the connection. */
  isShuttingDown: () => boolean;
}

/**
 * Gives a request its id (the caller's `X-Request-Id` when it is sane, else a new UUID), echoes it, and logs
 * one JSON line when the response is finished. Returns the id for error logs.
 */
export function startRequestLog(
  { logger, isShuttingDown }: RequestLogOptions,
  request: { method: string | undefined; path: string; requestIdHeader: string | string[] | undefined },
  res: ServerResponse,
): string {
  const incoming = request.requestIdHeader;
  const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const started = process.hrtime.bigint();
  res.setHeader('X-Request-Id', requestId);
  if (isShuttingDown()) res.setHeader('Connection', 'close');
  res.on('finish', () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const entry = {
      requestId,
      method: request.method,
      path: request.path,
      status: res.statusCode,
      durationMs,
    };
    // Health checks arrive every few seconds from every ALB node: keep them out of the info stream.
    if (request.path === '/health') logger.debug(entry, 'request');
    else logger.info(entry, 'request');
  });
  return requestId;
}
