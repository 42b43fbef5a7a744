import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CpuTimes, parseCpuTimes } from './cpu-times';
import { type MemoryUsage, parseMemoryInfo } from './memory-info';

export interface ProcSample {
  cpu: CpuTimes;
  memory: MemoryUsage;
}

/** Reads the two files the reporter needs; the root is a parameter so tests read captured samples. */
export async function readProcSample(procRoot = '/proc'): Promise<ProcSample> {
  const [stat, meminfo] = await Promise.all([
    readFile(join(procRoot, 'stat'), 'utf8'),
    readFile(join(procRoot, 'meminfo'), 'utf8'),
  ]);
  return { cpu: parseCpuTimes(stat), memory: parseMemoryInfo(meminfo) };
}
