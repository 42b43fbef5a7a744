import type { RequestHandler } from 'express';
import {
  type ConnectionProvider,
  urlConnectionProvider,
} from '../../shared/database-access/connection-provider';
import { createLogger } from '../../shared/logger';
import { createDatabase } from '../../web/db/database';
import { migrateToLatest } from '../../web/db/migrate';
import { type RunningWebServer, startWebServer } from '../../web/server';
import { startTestPostgres, type TestPostgres } from './local-postgres';

export interface WebHarness {
  baseUrl: string;
  pg: TestPostgres;
  web: RunningWebServer;
  close(): Promise<void>;
}

/** A real PostgreSQL, the schema migrated, and the web server on an ephemeral port of 127.0.0.1. */
export async function startWebHarness(
  options: {
    loadThreads?: number;
    loadQueueLimit?: number;
    provider?: (pg: TestPostgres) => ConnectionProvider;
    authenticate?: RequestHandler;
  } = {},
): Promise<WebHarness> {
  const pg = await startTestPostgres();
  const migrator = createDatabase({ provider: urlConnectionProvider(pg.url), poolMax: 1 });
  await migrateToLatest(migrator);
  await migrator.destroy();
  const web = await startWebServer({
    dbPoolMax: 10,
    provider: options.provider?.(pg) ?? urlConnectionProvider(pg.url),
    logger: createLogger('web-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    port: 0,
    host: '127.0.0.1',
    loadThreads: options.loadThreads ?? 2,
    loadQueueLimit: options.loadQueueLimit ?? 32,
    shutdownGraceMs: 2_000,
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
  });
  return {
    baseUrl: `http://127.0.0.1:${web.port}`,
    pg,
    web,
    async close() {
      await web.stop();
      await pg.destroy();
    },
  };
}

export async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The largest prime below 2^53: the slowest honest /load request (tens of millions of divisions). */
export const SLOW_PRIME = 9_007_199_254_740_881;
