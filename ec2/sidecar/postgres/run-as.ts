import { execFileSync } from 'node:child_process';

/** How PostgreSQL programs are started: as the sidecar's own user, or (when it runs as root) as `postgres`. */
export interface RunAs {
  spawnOptions: { uid?: number; gid?: number };
}

export function runAsPostgresUser(): RunAs {
  if (process.getuid?.() !== 0) return { spawnOptions: {} };
  // PostgreSQL refuses to run as root.
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { spawnOptions: { uid, gid } };
}
