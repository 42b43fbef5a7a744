/** Thrown when the user interrupts the bake (Ctrl-C): cleanup follows, the bake fails. */
export class BakeInterruptedError extends Error {
  override readonly name = 'BakeInterruptedError';
  constructor() {
    super('interrupted');
  }
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/** What one look at the awaited thing found. */
export type Observation = { done: true } | { done: false; status: string } | { failed: string };

interface PollOptions {
  /** What is awaited, for progress lines and errors ("builder i-0abc to install and power off"). */
  what: string;
  observe: () => Promise<Observation>;
  intervalMs: number;
  timeoutMs: number;
  signal: AbortSignal;
  onProgress: (message: string) => void;
}

export class WaitFailedError extends Error {
  override readonly name = 'WaitFailedError';
}

/** Looks, then waits an interval, until done, failed, timed out or interrupted; reports each look. */
export async function pollUntil(options: PollOptions): Promise<void> {
  const { what, observe, intervalMs, timeoutMs, signal, onProgress } = options;
  const started = Date.now();
  for (;;) {
    if (signal.aborted) throw new BakeInterruptedError();
    const observation = await observe();
    const elapsed = Date.now() - started;
    if ('failed' in observation) throw new WaitFailedError(`${what}: ${observation.failed}`);
    if (observation.done) {
      onProgress(`${what}: done after ${formatDuration(elapsed)}`);
      return;
    }
    if (elapsed >= timeoutMs) {
      throw new WaitTimeoutError(`${what}: still ${observation.status} after ${formatDuration(elapsed)}`);
    }
    onProgress(`${what}: ${observation.status}, ${formatDuration(elapsed)} so far`);
    await sleep(intervalMs, signal);
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new BakeInterruptedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BakeInterruptedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
