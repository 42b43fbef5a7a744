import type { ServerResponse } from 'node:http';

/** A JSON response: what a route answers, independent of the server that sends it (Express or node:http). */
export interface Answer {
  status: number;
  /** The JSON text of the body. */
  json: string;
  headers?: Readonly<Record<string, string>>;
}

/** Request bodies larger than this are refused with 413. */
export const BODY_LIMIT_BYTES = 4096;
/** The pause a client is asked to wait while the database is away (503s, and `GET /ready`). */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

export function sendAnswer(res: ServerResponse, answer: Answer): void {
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(answer.json));
  res.end(answer.json);
}
