import type { ConnectionProvider } from '../../shared/database-access/connection-provider';
import type { DatabaseConnection } from '../../shared/database-access/secret-to-connection';

/**
 * The same credentials on another host (a reader endpoint): reading, invalidating and staleness are the
 * underlying provider's, so a rotated secret is re-read once for both pools.
 */
export function onHost(
  provider: ConnectionProvider<DatabaseConnection>,
  host: string,
): ConnectionProvider<DatabaseConnection> {
  return {
    get: async () => ({ ...(await provider.get()), host }),
    invalidate: () => provider.invalidate(),
    isStale: () => provider.isStale(),
  };
}
