import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { BODY_LIMIT_BYTES } from './answer';

/** A body that cannot be used; `type` is body-parser's name for the same case, so one mapping serves both. */
class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    message: string,
    readonly type: 'entity.too.large' | 'entity.parse.failed' | 'request.aborted',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const PLAIN_JSON = new Set(['application/json', 'application/json;charset=utf-8']);
// JSON's whitespace: space, tab, line feed, carriage return.
const FIRST_CHARACTER = /^[ \t\n\r]*(.)/s;

/** JSON in UTF-8, not compressed: the bodies readJsonBody reads. Anything else is left to Express's parser. */
export function isPlainJson(headers: IncomingHttpHeaders): boolean {
  const contentType = headers['content-type']?.toLowerCase().replaceAll(' ', '');
  const encoding = headers['content-encoding'];
  return contentType !== undefined && PLAIN_JSON.has(contentType) && (!encoding || encoding === 'identity');
}

/**
 * Reads and parses a JSON body as express.json({ strict: true }) does: at most BODY_LIMIT_BYTES, an empty body
 * is `{}`, and only an object or an array at the top level (anything else is "not valid JSON").
 */
export function readJsonBody(req: IncomingMessage, limit = BODY_LIMIT_BYTES): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new BodyError(`body is larger than ${limit} bytes`, 'entity.too.large');
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume(); // discard the body; the connection stays usable for the next request
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) return;
      try {
        resolve(parseStrict(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', (cause) => reject(new BodyError('body cannot be read', 'request.aborted', { cause })));
    req.on('close', () => {
      if (!req.complete) reject(new BodyError('body cannot be read', 'request.aborted'));
    });
  });
}

function parseStrict(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 byte order mark is not JSON
  if (body.length === 0) return {};
  const first = FIRST_CHARACTER.exec(body)?.[1];
  if (first !== '{' && first !== '[')
    throw new BodyError('body is not a JSON object or array', 'entity.parse.failed');
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new BodyError('body is not valid JSON', 'entity.parse.failed', { cause });
  }
}
