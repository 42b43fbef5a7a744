import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './local-postgres';

/**
 * The PostgreSQL client tools (pg_dump, pg_restore) of the operating system, and the server binaries of the
 * same major version. pg_dump refuses a server newer than itself, and the embedded binaries ship no pg_dump, so
 * the server that is dumped has to come from the same package set as the tools.
 */
export function distributionPostgres(): { major: number; bin: string; pgDump: string; pgRestore: string } {
  let version: string;
  try {
    version = execFileSync('pg_dump', ['--version']).toString();
  } catch {
    throw new Error('pg_dump is not installed (apt-get install -y postgresql)');
  }
  const major = Number(/\(PostgreSQL\) (\d+)/.exec(version)?.[1]);
  const bin = `/usr/lib/postgresql/${major}/bin`;
  if (!existsSync(join(bin, 'initdb'))) {
    throw new Error(
      `the PostgreSQL ${major} server is not installed (apt-get install -y postgresql-${major})`,
    );
  }
  return { major, bin, pgDump: join(bin, 'pg_dump'), pgRestore: join(bin, 'pg_restore') };
}

export interface DistributionServer {
  url: string;
  destroy(): Promise<void>;
}

/**
 * A fresh server of the distribution's PostgreSQL on 127.0.0.1, its superuser named `superuser` with the
 * password `password` (as the instance tier, whose superuser is the secret's user). As root, it runs as the
 * `postgres` system user that local-postgres.ts already relies on.
 */
export async function startDistributionServer(
  superuser: string,
  password: string,
): Promise<DistributionServer> {
  const { bin } = distributionPostgres();
  const parent = mkdtempSync(join(tmpdir(), 'cloudy-distpg-'));
  chmodSync(parent, 0o755);
  const dataDir = join(parent, 'data');
  const pwfile = join(parent, 'pw');
  execFileSync('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', password, pwfile]);
  const root = userInfo().uid === 0;
  if (root) execFileSync('chown', ['-R', 'postgres:postgres', parent]);
  const ids = root
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      }
    : {};
  execFileSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', superuser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--no-sync'],
    { ...ids, stdio: 'ignore' },
  );
  const port = await freePort();
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${parent}`,
    ],
    { ...ids, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    server.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready to accept connections')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`postgres exited with ${code}:\n${log}`)));
  });
  return {
    url: `postgres://${superuser}:${password}@127.0.0.1:${port}/postgres`,
    async destroy() {
      if (server.exitCode === null) {
        const exited = once(server, 'exit');
        server.kill('SIGINT');
        await exited;
      }
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
