// `npm run build`: the programs that run on instances, bundled by esbuild into dist/ (one file each,
// dependencies included), ready to copy onto an AMI or into the container image.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { bundleSettings } from './esbuild-settings';

// `npm run build -- DIR` writes elsewhere (tests build into a scratch folder, never over dist/).
const outdir = process.argv[2] ?? 'dist';

await build({
  entryPoints: {
    'web/main': 'web/main.ts',
    // The /load worker thread is loaded by file name, so it must be its own file beside main.
    'web/prime-worker': 'web/prime/prime-worker.ts',
    'sidecar/main': 'ec2/sidecar/main.ts',
    'metrics/main': 'ec2/metrics/main.ts',
  },
  outdir,
  outExtension: { '.js': '.mjs' },
  ...bundleSettings,
  sourcemap: true,
  // CommonJS dependencies find files beside themselves through __dirname, which ES modules lack: it becomes
  // the bundle's own folder (piscina looks there for its thread entry, below).
  define: { __dirname: 'import.meta.dirname' },
  logLevel: 'info',
});

// Piscina starts every /load thread from its own worker.js beside the bundle, which then imports
// prime-worker.mjs. It is CommonJS; the package.json beside it says so whatever encloses dist/.
await build({
  entryPoints: { 'web/worker': 'node_modules/piscina/dist/worker.js' },
  outdir,
  bundle: true,
  platform: 'node',
  target: bundleSettings.target,
  format: 'cjs',
  sourcemap: true,
  // A native module it loads only when asked to lower thread priority (niceIncrement), which the app never does.
  external: ['@napi-rs/nice'],
  logLevel: 'info',
});
writeFileSync(join(outdir, 'web', 'package.json'), '{ "type": "commonjs" }\n');
