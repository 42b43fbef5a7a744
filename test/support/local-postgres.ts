import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalPostgres, type LocalPostgres } from '../../shared/embedded-postgres';

/** A port the kernel just handed out on 127.0.0.1 and that nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TestPostgres extends LocalPostgres {
  /** Stops the server and deletes its data folder. */
  destroy(): Promise<void>;
}

/** A real, started PostgreSQL on 127.0.0.1 with a fresh data folder of its own. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const parent = mkdtempSync(join(tmpdir(), 'cloudy-pg-'));
  chmodSync(parent, 0o755); // the server may run as the postgres user and must reach its folder
  const pg = await createLocalPostgres({ dataDir: join(parent, 'data'), port: await freePort() });
  await pg.start();
  return {
    ...pg,
    async destroy() {
      await pg.stop().catch(() => {});
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
