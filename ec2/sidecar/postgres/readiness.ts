import pg from 'pg';

// Answers that prove a server accepting connections: it ran authentication and refused the probe's made-up login.
const ACCEPTING_CODES = new Set(['28P01', '28000', '3D000']);

/**
 * Like pg_isready: is a PostgreSQL server at host:port accepting connections (past crash recovery)? Needs no
 * password: a refused login is as good an answer as an accepted one; "starting up" (57P03) or no listener is not.
 */
export async function acceptsConnections(options: {
  host: string;
  port: number;
  timeoutMs: number;
}): Promise<boolean> {
  const client = new pg.Client({
    host: options.host,
    port: options.port,
    user: 'cloudy_readiness_probe',
    password: 'not-a-password',
    database: 'postgres',
    connectionTimeoutMillis: options.timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch (error) {
    return ACCEPTING_CODES.has((error as { code?: string }).code ?? '');
  } finally {
    await client.end().catch(() => {});
  }
}
