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
  let timer: NodeJS.Timeout | undefined;
  // The whole exchange is bounded, whatever the driver's own timeout covers: a frozen server accepts the TCP
  // connection in the kernel's backlog and then never answers.
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), options.timeoutMs);
  });
  const answered = client.connect().then(
    () => true,
    (error: unknown) => ACCEPTING_CODES.has((error as { code?: string }).code ?? ''),
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
    // end() waits for the server, which may never answer: do not wait for it.
    void client.end().catch(() => {});
  }
}
