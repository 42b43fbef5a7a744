import cluster from 'node:cluster';
import { once } from 'node:events';
import type { Logger } from '../shared/logger';
import { authenticationFromConfig } from './authentication-from-config';
import { migrateWithOwnPool } from './composition';
import type { WebConfig } from './config';
import { providerFromConfig, providersFromConfig } from './db/provider-from-config';
import { startWebServer } from './server';

/**
 * The web app as it runs on an instance: migrate once, then one HTTP process per core (a single Node
 * process tops out at one core, below the 60 % scale-up alarm of a 2-vCPU instance). The primary only
 * supervises: it restarts a crashed worker and, on SIGTERM, waits for every worker to drain.
 */
export async function runWebApp(config: WebConfig, logger: Logger): Promise<void> {
  if (cluster.isPrimary) {
    const applied = await migrateWithOwnPool(providerFromConfig(config), logger);
    logger.info({ applied }, 'database schema up to date');
    if (config.WEB_PROCESSES === 1) return serveInThisProcess(config, logger, 1);
    return superviseWorkers(config, logger);
  }
  return serveInThisProcess(config, logger, config.WEB_PROCESSES);
}

async function serveInThisProcess(config: WebConfig, logger: Logger, processes: number): Promise<void> {
  const providers = providersFromConfig(config);
  const running = await startWebServer({
    provider: providers.writer,
    ...(providers.reader ? { readerProvider: providers.reader } : {}),
    logger,
    port: config.PORT,
    host: config.HOST,
    loadThreads: Math.max(1, Math.round(config.LOAD_THREADS / processes)),
    loadQueueLimit: config.LOAD_QUEUE_LIMIT,
    dbPoolMax: config.DB_POOL_MAX,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    authenticate: authenticationFromConfig(config),
  });
  logger.info({ port: running.port, pid: process.pid }, 'listening');
  const signal = await stopSignal();
  logger.info({ signal }, 'draining');
  await running.stop();
  logger.info('stopped');
}

/** Resolves with the name of the first stop signal the process receives. */
function stopSignal(): Promise<'SIGTERM' | 'SIGINT'> {
  return Promise.race([
    once(process, 'SIGTERM').then(() => 'SIGTERM' as const),
    once(process, 'SIGINT').then(() => 'SIGINT' as const),
  ]);
}

/** More worker deaths than this within the window means they die at start: give up and let systemd decide. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 30_000;

class WorkersCrashLoopError extends Error {
  override readonly name = 'WorkersCrashLoopError';
}

async function superviseWorkers(config: WebConfig, logger: Logger): Promise<void> {
  let stopping = false;
  const deaths: number[] = [];
  const crashLoop = new Promise<never>((_resolve, reject) => {
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && (deaths[0] ?? now) < now - CRASH_WINDOW_MS) deaths.shift();
      if (deaths.length > CRASH_LIMIT) {
        stopping = true;
        reject(
          new WorkersCrashLoopError(`${deaths.length} web workers died within ${CRASH_WINDOW_MS / 1000} s`),
        );
        return;
      }
      logger.error({ workerPid: worker.process.pid, code, signal }, 'web worker died, starting another');
      cluster.fork();
    });
  });
  for (let i = 0; i < config.WEB_PROCESSES; i += 1) cluster.fork();
  const signal = await Promise.race([stopSignal(), crashLoop]);
  logger.info({ signal }, 'draining');
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
