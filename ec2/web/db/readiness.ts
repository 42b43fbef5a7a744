import type { Knex } from 'knex';
import { isDatabaseUnavailable } from './database-errors';

export type EndpointStatus = 'ready' | 'unavailable' | 'not configured';

export interface DatabaseStatus {
  writer: EndpointStatus;
  reader: EndpointStatus;
}

async function check(db: Knex): Promise<EndpointStatus> {
  try {
    await db.raw('select 1');
    return 'ready';
  } catch (error) {
    if (isDatabaseUnavailable(error)) return 'unavailable';
    throw error;
  }
}

/** Asks the writer and the reader (if any) at the same time whether they answer. */
export function databaseReadiness(writer: Knex, reader?: Knex): () => Promise<DatabaseStatus> {
  return async () => {
    const [writerStatus, readerStatus] = await Promise.all([
      check(writer),
      reader ? check(reader) : Promise.resolve<EndpointStatus>('not configured'),
    ]);
    return { writer: writerStatus, reader: readerStatus };
  };
}
