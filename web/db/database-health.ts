import type { Knex } from 'knex';
import { isDatabaseUnavailable } from './database-errors';

type EndpointStatus = 'ready' | 'unavailable' | 'not configured';

interface DatabaseStatus {
  writer: EndpointStatus;
  reader: EndpointStatus;
}

/** The readiness check's view of the database (`GET /ready`). */
export interface DatabaseHealth {
  /** Whether the writer and the reader answer a trivial query; rejects only on a bug. */
  status(): Promise<DatabaseStatus>;
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

/** Asks the writer and the reader (if any) at the same time. */
export function knexDatabaseHealth(writer: Knex, reader?: Knex): DatabaseHealth {
  return {
    async status() {
      const [writerStatus, readerStatus] = await Promise.all([
        check(writer),
        reader ? check(reader) : Promise.resolve<EndpointStatus>('not configured'),
      ]);
      return { writer: writerStatus, reader: readerStatus };
    },
  };
}
