import type { Clock } from '../../../ec2/sidecar/clock';

/** A clock that moves only when told: sleeps resolve in deadline order as `advance` passes them. */
export class FakeClock implements Clock {
  private now = 0;
  private sleepers: { at: number; resolve: () => void }[] = [];
  constructor(private wallOffsetMs = 1_800_000_000_000) {}

  wallMs = (): number => this.wallOffsetMs + this.now;
  /** A wall-clock step (NTP, an operator): the monotonic clock does not move. */
  stepWall(ms: number): void {
    this.wallOffsetMs += ms;
  }
  monoMs = (): number => this.now;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = { at: this.now + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });

  /** Moves time forward by `ms`, waking each sleeper at its time and letting the woken code run. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await settle();
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.now = Math.max(this.now, next.at);
      next.resolve();
    }
    this.now = target;
    await settle();
  }
}

/** Lets every pending promise continuation run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}
