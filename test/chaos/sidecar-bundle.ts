import { build } from 'esbuild';
import { bundleSettings } from '../../scripts/esbuild-settings';

/**
 * One program file bundled as `npm run build` bundles the sidecar (starts in a fraction of tsx's time), readable
 * by every user: the fault suite runs the sidecar as it ships, and small helpers as the OS user of PostgreSQL.
 */
export async function bundleForChaos(entryPoint: string, outfile: string): Promise<void> {
  await build({ entryPoints: [entryPoint], outfile, ...bundleSettings, logLevel: 'error' });
}
