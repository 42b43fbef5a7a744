import { readlinkSync } from 'node:fs';
import { isLive, listProcesses, workingDirectory } from '../../ec2/sidecar/proc/process-table';

/** The pid namespace of a process (an inode name like `pid:[4026531836]`): one per host, or per container. */
function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

export interface SamplerReport {
  samples: number;
  /** Samples that saw PostgreSQL processes of more than one server on the data directory. */
  twoServerSamples: number;
  /** Longest gap between two samples: how continuous "continuously" was. */
  maxGapMs: number;
}

/**
 * Watches every live PostgreSQL process whose working directory is the shared data directory (the postmaster
 * and every backend chdir into it) and counts the samples in which they belong to more than one server. Each
 * sidecar runs its PostgreSQL in a pid namespace of its own (its "host"), so distinct namespaces are distinct
 * servers, orphaned backends included.
 */
export function startServerSampler(options: { dataDir: string; intervalMs: number }) {
  const { dataDir } = options; // as the kernel reports it in /proc/<pid>/cwd: symlinks resolved
  const report: SamplerReport = { samples: 0, twoServerSamples: 0, maxGapMs: 0 };
  const violations: { atMs: number; servers: string[] }[] = [];
  let last = performance.now();

  function sample(): void {
    const now = performance.now();
    report.maxGapMs = Math.max(report.maxGapMs, now - last);
    last = now;
    const servers = new Set<string>();
    for (const p of listProcesses()) {
      if (p.comm !== 'postgres' || !isLive(p)) continue;
      // A process whose namespace can no longer be read has exited since it was listed (a backend of
      // the running server closing, typically): it has nothing open, and must not count as a server of
      // its own. Every process of a real second server stays readable across samples.
      const namespace = pidNamespace(p.pid);
      if (!namespace || workingDirectory(p.pid) !== dataDir) continue;
      servers.add(namespace);
    }
    report.samples += 1;
    if (servers.size > 1) {
      report.twoServerSamples += 1;
      violations.push({ atMs: Date.now(), servers: [...servers] });
    }
  }

  const timer = setInterval(sample, options.intervalMs);
  return {
    report: (): SamplerReport => ({ ...report }),
    violations: () => [...violations],
    stop(): SamplerReport {
      clearInterval(timer);
      return { ...report };
    },
  };
}
