import { build } from 'esbuild';

/**
 * One program file bundled as `npm run build` bundles the sidecar (starts in a fraction of tsx's time), readable
 * by every user: the fault suite runs the sidecar as it ships, and small helpers as the postgres OS user.
 */
export async function bundleForChaos(entryPoint: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['pg-native'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}
