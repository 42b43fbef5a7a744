// Preloaded into a fault-suite sidecar (`node --import`): its wall clock (Date.now) runs offset by the number of
// milliseconds in the file CHAOS_WALL_CLOCK_OFFSET_FILE names, re-read every 100 ms, as after a step of the
// instance's system clock. The monotonic clock (performance.now) is left alone, as a step leaves CLOCK_MONOTONIC.
// Test code only: the production sidecar has no clock hook.
import { readFileSync } from 'node:fs';

const offsetFile = process.env.CHAOS_WALL_CLOCK_OFFSET_FILE;
if (offsetFile) {
  let offsetMs = 0;
  const read = () => {
    try {
      offsetMs = Number(readFileSync(offsetFile, 'utf8').trim()) || 0;
    } catch {
      offsetMs = 0; // no file: no offset
    }
  };
  read();
  setInterval(read, 100).unref();
  const systemNow = Date.now;
  Date.now = () => systemNow() + offsetMs;
}
