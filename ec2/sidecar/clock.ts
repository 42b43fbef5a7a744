import { readFileSync } from 'node:fs';
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

/**
 * The fault suite's clock-jump (SIDECAR_MODE=local only): the system clock with its wall time offset by the
 * number of milliseconds in `offsetFile`, re-read on every call so that a running sidecar's clock steps. The
 * monotonic clock is left alone, as a wall-clock step leaves CLOCK_MONOTONIC alone.
 */
export function steppableClock(offsetFile: string, base: Clock = systemClock): Clock {
  return {
    wallMs: () => {
      let offset = 0;
      try {
        offset = Number(readFileSync(offsetFile, 'utf8').trim()) || 0;
      } catch {
        // no file: no offset
      }
      return base.wallMs() + offset;
    },
    monoMs: base.monoMs,
    sleep: base.sleep,
  };
}
