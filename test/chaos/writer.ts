import pg from 'pg';
import { readLocalRoute } from '../../ec2/sidecar/promote/local-promoter';

/**
 * Commits numbered rows, one at a time, to whichever server the route file names (as clients follow the
 * virtual IP), and records every number whose commit was acknowledged. A failed or timed-out commit is simply
 * not acknowledged; numbers are never reused.
 */
export function startWriter(options: { routeFile: string; password: string; intervalMs: number }) {
  const acknowledged: number[] = [];
  let next = 1;
  let running = true;
  let client: pg.Client | undefined;
  let clientPort = 0;

  async function connect(port: number): Promise<pg.Client> {
    const fresh = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: options.password,
      database: 'postgres',
      connectionTimeoutMillis: 1000,
      query_timeout: 2000,
    });
    fresh.on('error', () => {});
    await fresh.connect();
    await fresh.query('CREATE TABLE IF NOT EXISTS chaos_rows (n bigint PRIMARY KEY)');
    return fresh;
  }

  async function loop(): Promise<void> {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
      const route = readLocalRoute(options.routeFile);
      if (!route) continue;
      try {
        if (!client || clientPort !== route.port) {
          await client?.end().catch(() => {});
          client = undefined;
          client = await connect(route.port);
          clientPort = route.port;
        }
        const n = next++;
        await client.query('INSERT INTO chaos_rows (n) VALUES ($1)', [n]);
        acknowledged.push(n);
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
      }
    }
  }

  const done = loop();
  return {
    acknowledged: () => [...acknowledged],
    async stop() {
      running = false;
      await done;
      await client?.end().catch(() => {});
    },
  };
}

/** A connection as the cluster's superuser to the test server on 127.0.0.1 at `port` (the caller ends it). */
export async function connectAsSuperuser(
  port: number,
  password: string,
  timeoutMs: number,
): Promise<pg.Client> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    connectionTimeoutMillis: timeoutMs,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Acknowledged numbers absent from the table on the server at `port`. */
export async function missingRows(options: {
  port: number;
  password: string;
  acknowledged: number[];
}): Promise<number[]> {
  const client = await connectAsSuperuser(options.port, options.password, 2000);
  try {
    const result = await client.query<{ n: string }>('SELECT n FROM chaos_rows');
    const present = new Set(result.rows.map((row) => Number(row.n)));
    return options.acknowledged.filter((n) => !present.has(n));
  } finally {
    await client.end().catch(() => {});
  }
}
