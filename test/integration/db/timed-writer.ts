import pg from 'pg';
import { readLocalRoute } from '../../../ec2/sidecar/promote/local-promoter';

/**
 * A client that commits one row every `intervalMs` to whichever server the local route file names (as clients
 * follow the virtual IP), reconnecting when the route moves or a commit fails, and noting when each commit was
 * acknowledged (performance.now()). The longest time between two acknowledged commits is the write outage a
 * client saw.
 */
export function startTimedWriter(options: { routeFile: string; password: string; intervalMs: number }) {
  const acknowledged: { n: number; atMs: number }[] = [];
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
        acknowledged.push({ n, atMs: performance.now() });
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
      }
    }
  }

  const done = loop();
  return {
    acknowledged: () => acknowledged.map((ack) => ack.n),
    /** The longest gap between consecutive acknowledged commits that ends after `fromMs`. */
    longestGapAfter(fromMs: number): number {
      let longest = 0;
      for (let i = 1; i < acknowledged.length; i++) {
        const [before, after] = [acknowledged[i - 1], acknowledged[i]];
        if (before && after && after.atMs > fromMs) longest = Math.max(longest, after.atMs - before.atMs);
      }
      return longest;
    },
    async stop() {
      running = false;
      await done;
      await client?.end().catch(() => {});
    },
  };
}
