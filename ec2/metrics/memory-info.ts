import { ProcFormatError } from './cpu-times';

export interface MemoryUsage {
  totalBytes: number;
  /** Memory the kernel can hand out without swapping (MemAvailable: free + reclaimable cache). */
  availableBytes: number;
  /** (total - available) / total, 0..100. */
  utilizationPercent: number;
}

export function parseMemoryInfo(procMeminfo: string): MemoryUsage {
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(procMeminfo);
    if (!match?.[1]) throw new ProcFormatError(`no ${key} in /proc/meminfo`);
    return Number(match[1]);
  };
  const totalBytes = kib('MemTotal') * 1024;
  // MemAvailable exists since Linux 3.14; "free" alone would count page cache as used and alarm wrongly.
  const availableBytes = kib('MemAvailable') * 1024;
  if (totalBytes === 0) throw new ProcFormatError('MemTotal is 0 in /proc/meminfo');
  const used = Math.max(0, totalBytes - availableBytes);
  return {
    totalBytes,
    availableBytes,
    utilizationPercent: Math.round((used / totalBytes) * 10_000) / 100,
  };
}
