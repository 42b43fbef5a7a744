import cluster from 'node:cluster';
import { once } from 'node:events';
import type { Logger } from '../lib/logger';
import type { WebConfig } from './config';
import { createDatabase } from './db/database';
import { migrateToLatest } from './db/migrate';
import { providerFromConfig } from './db/provider-from-config';
import { startWebServer } from './server';

/**
 * The web app as it runs on an instance: migrate once, then one HTTP process per core (a single Node
 * process tops out at one core, below the 60 % scale-up alarm of a 2-vCPU instance). The primary only
 * supervises: it restarts a crashed worker and, on SIGTERM, waits for every worker to drain.
 */
export async function runWebApp(config: WebConfig, logger: Logger): Promise<void> {
  if (cluster.isPrimary) {
    const db = createDatabase({ provider: providerFromConfig(config), poolMax: 1, logger });
    try {
      const applied = await migrateToLatest(db);
      logger.info({ applied }, 'database schema up to date');
    } finally {
      await db.destroy();
    }
    if (config.WEB_PROCESSES === 1) return serveInThisProcess(config, logger, 1);
    return superviseWorkers(config, logger);
  }
  return serveInThisProcess(config, logger, config.WEB_PROCESSES);
}

async function serveInThisProcess(config: WebConfig, logger: Logger, processes: number): Promise<void> {
  const running = await startWebServer({
    provider: providerFromConfig(config),
    logger,
    port: config.PORT,
    host: config.HOST,
    loadThreads: Math.max(1, Math.round(config.LOAD_THREADS / processes)),
    loadQueueLimit: config.LOAD_QUEUE_LIMIT,
    dbPoolMax: config.DB_POOL_MAX,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
  });
  logger.info({ port: running.port, pid: process.pid }, 'listening');
  const signal = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]).then(() => 'stop');
  logger.info({ signal }, 'draining');
  await running.stop();
  logger.info('stopped');
}

async function superviseWorkers(config: WebConfig, logger: Logger): Promise<void> {
  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ workerPid: worker.process.pid, code, signal }, 'web worker died, starting another');
    fork();
  });
  for (let i = 0; i < config.WEB_PROCESSES; i += 1) fork();
  await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
  logger.info({ workers: workers.length }, 'stopping web workers');
  await Promise.all(
    workers.map((worker) => {
      const exited = once(worker, 'exit');
      worker.process.kill('SIGTERM');
      return exited;
    }),
  );
}
