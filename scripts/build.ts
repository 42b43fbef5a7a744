// `npm run build`: the programs that run on instances, bundled by esbuild into dist/ (one file each,
// dependencies included), ready to copy onto an AMI or into the container image.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { exitWithUsage, readCommandLine, UsageError } from '../shared/command-line';
import { bundleSettings } from './esbuild-settings';

const BUILD = {
  name: 'build',
  usage: `usage: npm run build [-- DIR]

Bundles the programs that run on instances (the web app, its /load worker, the database sidecar, the metrics
reporter) into DIR, with the database instances' backup and restore scripts (ec2/backup/*.sh), (default dist/), one self-contained .mjs file each with its source map.
DIR lets tests build into a scratch folder, never over dist/.`,
  options: {},
  allowPositionals: true,
};
const { positionals } = readCommandLine(BUILD);
if (positionals.length > 1) exitWithUsage(BUILD, new UsageError('one output folder at most'));
const outdir = positionals[0] ?? 'dist';

await build({
  entryPoints: {
    'web/main': 'web/main-instance.ts',
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

// The database instances' backup job and restore command (shell, run by systemd timers and by an operator).
mkdirSync(join(outdir, 'backup'), { recursive: true });
for (const script of ['cloudy-backup.sh', 'cloudy-restore.sh']) {
  copyFileSync(join('ec2', 'backup', script), join(outdir, 'backup', script));
}
