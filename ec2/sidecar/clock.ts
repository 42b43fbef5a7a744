import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/** Wall clock (shared meaning across hosts, for the lease item) and monotonic clock (local deadlines). */
export interface Clock {
  wallMs(): number;
  monoMs(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monoMs: () => performance.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined).catch(() => {}),
};
