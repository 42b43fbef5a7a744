import { join } from 'node:path';
import type pg from 'pg';
import { APP, type AwsCluster } from './aws-cluster';
import { startVipRouter } from './vip-router';
import { startWebApp } from './web-writer';

/** The application role's connection to one instance (TLS verified against the tier's CA), for checking data. */
export function appConnection(cluster: AwsCluster): pg.ClientConfig {
  return { user: APP.user, password: APP.password, database: APP.database, ssl: cluster.tlsOptions };
}

/**
 * The client side of the tier as on AWS: the VIP router following the emulated route table (so the promoter's
 * and the failover Lambda's ReplaceRoute move traffic) and the web app connecting through it. Call once a
 * primary is published: the app runs its migrations at start.
 */
export async function startWebTier(cluster: AwsCluster, options: { timeoutMs: number }) {
  const router = await startVipRouter(() => cluster.routedPort());
  cluster.emulator.onChange(() => router.reroute());
  try {
    const web = await startWebApp({
      databaseUrl:
        `postgresql://${APP.user}:${APP.password}@127.0.0.1:${router.port}/${APP.database}` +
        `?sslmode=verify-full&sslrootcert=${encodeURIComponent(cluster.caFile)}`,
      logFile: join(cluster.logDir, 'web.log'),
      timeoutMs: options.timeoutMs,
    });
    return {
      baseUrl: web.baseUrl,
      /** Stops the web app, then the router. */
      async stop(): Promise<void> {
        await web.stop();
        await router.close();
      },
    };
  } catch (error) {
    await router.close();
    throw error;
  }
}
