import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { checkPrime, type PrimeCheckResult } from './check-prime';

/** Where `/load` does its work: a worker pool on EC2, the calling thread in Lambda (one request at a time). */
export interface PrimeChecker {
  check(n: number, signal?: AbortSignal): Promise<PrimeCheckResult>;
  close(): Promise<void>;
}

export function inlinePrimeChecker(): PrimeChecker {
  return {
    check: async (n) => checkPrime(n),
    close: async () => {},
  };
}

/** The pool's wait queue is full: the check was refused, not queued (the HTTP layer answers 503). */
export class PrimeQueueFullError extends Error {
  override readonly name = 'PrimeQueueFullError';
}

interface PrimePoolOptions {
  threads: number;
  /** Tasks allowed to wait for a thread; beyond this the request is refused with 503 instead of queueing. */
  maxQueue: number;
}

// The worker is a sibling file: prime-worker.ts under tsx, prime-worker.js in the esbuild bundle.
const workerFile = fileURLToPath(new URL(`./prime-worker${extname(import.meta.url)}`, import.meta.url));

export function pooledPrimeChecker({ threads, maxQueue }: PrimePoolOptions): PrimeChecker {
  const pool = new Piscina<number, PrimeCheckResult>({
    filename: workerFile,
    minThreads: threads,
    maxThreads: threads,
    maxQueue,
    idleTimeout: Number.POSITIVE_INFINITY,
  });
  return {
    async check(n, signal) {
      if (pool.queueSize >= maxQueue) throw new PrimeQueueFullError('prime check queue is full');
      return pool.run(n, signal ? { signal } : {});
    },
    close: () => pool.destroy(),
  };
}
