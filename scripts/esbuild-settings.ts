import { readFileSync } from 'node:fs';
import type { BuildOptions } from 'esbuild';

interface SharedSettings {
  target: string;
  platform: 'node';
  format: 'esm';
  external: string[];
  banner: string;
}

// esbuild-settings.json is the one source of these for every bundle: the Lambda functions (serverless.yml reads
// it with ${file(...)}), `npm run build` and the fault suite's sidecar. Why each is there:
// - target: the oldest Node.js the project supports (package.json engines), so a bundle runs on every supported
//   runtime;
// - external: knex requires every SQL driver lazily and only pg is installed, so the others stay out;
// - banner: ES module bundles of CommonJS code need `require`.
const settings = JSON.parse(
  readFileSync(new URL('./esbuild-settings.json', import.meta.url), 'utf8'),
) as SharedSettings;

/** The esbuild options every ES module bundle of the project's programs starts from. */
export const bundleSettings = {
  bundle: true,
  platform: settings.platform,
  target: settings.target,
  format: settings.format,
  external: settings.external,
  banner: { js: settings.banner },
} satisfies BuildOptions;
