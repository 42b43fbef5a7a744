import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Kernel state letter; 'Z' (exited, not yet reaped) holds no files and no memory. */
  state: string;
  comm: string;
}

/** Parses /proc/<pid>/stat; the command name is in parentheses and may itself contain spaces or parentheses. */
export function parseStat(text: string): ProcessInfo | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // After the name: state(3) ppid(4); fields[0] is field 3.
  const [state, ppid] = fields;
  if (!state || !Number.isInteger(pid) || !Number.isInteger(Number(ppid))) return undefined;
  return { pid, ppid: Number(ppid), state, comm: text.slice(open + 1, close) };
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone
  }
}

/** Every process visible in /proc right now (a process may vanish between listing and reading: skipped). */
export function listProcesses(): ProcessInfo[] {
  const result: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcess(Number(entry));
    if (info) result.push(info);
  }
  return result;
}

export function isLive(info: ProcessInfo): boolean {
  return info.state !== 'Z' && info.state !== 'X';
}

export function workingDirectory(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Processes whose chain of parents reaches `ancestor` (re-parented orphans are not found this way). */
export function descendantsOf(ancestor: number, processes: ProcessInfo[]): ProcessInfo[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  return processes.filter((p) => {
    let parent = byPid.get(p.ppid);
    for (let depth = 0; parent && depth < 64; depth++) {
      if (parent.pid === ancestor) return true;
      parent = byPid.get(parent.ppid);
    }
    return p.ppid === ancestor;
  });
}

/** Sends a signal, treating "no such process" as done. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
