import type { Knex } from 'knex';
import type { Logger } from '../../shared/logger';
import { isDatabaseUnavailable } from './database-errors';

/**
 * How long reads stay on the writer after the reader failed to answer, before the reader is tried again.
 * Aurora's endpoints are DNS names with a 5-second TTL (AWS Database Blog, "Improve application availability on
 * Amazon Aurora"): a reader that was replaced or promoted is found again under the same name within about that.
 */
export const RETRY_READER_AFTER_MS = 5_000;

type ReadTarget = 'reader' | 'writer';

/** Pure: where the next replica-tolerant read goes, given when the last reader failure stops counting. */
export function chooseReadTarget(readerDownUntil: number, now: number): ReadTarget {
  return now >= readerDownUntil ? 'reader' : 'writer';
}

export interface ReadRoute {
  /** Runs a read that tolerates replica lag: on the reader when there is one that answers, else on the writer. */
  replicaTolerant<T>(work: (db: Knex) => Promise<T>): Promise<T>;
}

/** No reader configured (the instance tier): every read goes to the writer. */
export function writerOnly(writer: Knex): ReadRoute {
  return { replicaTolerant: (work) => work(writer) };
}

interface ReaderFirstOptions {
  writer: Knex;
  reader: Knex;
  /** Called with the error each time the reader fails and reads move to the writer. */
  onReaderAway?: (error: unknown) => void;
  retryReaderAfterMs?: number;
  now?: () => number;
}

/**
 * Reads go to the reader; when it cannot answer (down, unreachable, shutting down), the same read is retried on
 * the writer at once and the following reads go to the writer for `retryReaderAfterMs`. A query error that is
 * not about availability (a bug) is not retried.
 */
export function readerFirst(options: ReaderFirstOptions): ReadRoute {
  const { writer, reader, retryReaderAfterMs = RETRY_READER_AFTER_MS, now = Date.now } = options;
  let readerDownUntil = 0;
  return {
    async replicaTolerant(work) {
      if (chooseReadTarget(readerDownUntil, now()) === 'writer') return work(writer);
      try {
        return await work(reader);
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        readerDownUntil = now() + retryReaderAfterMs;
        options.onReaderAway?.(error);
        return work(writer);
      }
    },
  };
}

/** The route for the pools a process has: reader first when there is a reader, each fallback logged. */
export function readRoute(writer: Knex, reader: Knex | undefined, logger: Logger): ReadRoute {
  if (!reader) return writerOnly(writer);
  return readerFirst({
    writer,
    reader,
    onReaderAway: (error) => logger.warn({ err: error }, 'reader unavailable, reading from the writer'),
  });
}
