/** Cumulative CPU time of all cores since boot, in clock ticks (the `cpu` line of /proc/stat). */
export interface CpuTimes {
  /** Ticks spent doing work (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** Ticks idle while a disk request was outstanding. */
  ioWait: number;
  /** All ticks, idle included. */
  total: number;
}

export interface CpuUsage {
  /** Share of time the CPUs worked, 0..100. */
  utilizationPercent: number;
  /** Share of time the CPUs sat idle waiting for I/O, 0..100. */
  ioWaitPercent: number;
}

export class ProcFormatError extends Error {
  override readonly name = 'ProcFormatError';
}

// Column order of the aggregate line (proc(5)); older kernels print fewer columns, the missing ones are 0.
// guest and guest_nice are already counted inside user and nice, so they are not added again.
const COLUMNS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

export function parseCpuTimes(procStat: string): CpuTimes {
  const line = procStat.split('\n').find((candidate) => /^cpu\s/.test(candidate));
  if (!line) throw new ProcFormatError('no aggregate "cpu" line in /proc/stat');
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 4 || fields.some((value) => !Number.isFinite(value) || value < 0)) {
    throw new ProcFormatError(`unreadable "cpu" line in /proc/stat: ${line}`);
  }
  const ticks = Object.fromEntries(COLUMNS.map((name, index) => [name, fields[index] ?? 0])) as Record<
    (typeof COLUMNS)[number],
    number
  >;
  const idle = ticks.idle + ticks.iowait;
  const busy = ticks.user + ticks.nice + ticks.system + ticks.irq + ticks.softirq + ticks.steal;
  return { busy, ioWait: ticks.iowait, total: busy + idle };
}

/**
 * Usage over the interval between two readings. Undefined when no time passed or the counters went back
 * (they are per boot, and iowait may briefly decrease on some kernels): such an interval says nothing.
 */
export function cpuUsageBetween(before: CpuTimes, after: CpuTimes): CpuUsage | undefined {
  const total = after.total - before.total;
  const busy = after.busy - before.busy;
  const ioWait = after.ioWait - before.ioWait;
  if (total <= 0 || busy < 0 || ioWait < 0) return undefined;
  return { utilizationPercent: percent(busy, total), ioWaitPercent: percent(ioWait, total) };
}

function percent(part: number, whole: number): number {
  return Math.round((part / whole) * 10_000) / 100;
}
