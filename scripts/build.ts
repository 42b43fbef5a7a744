// `npm run build`: the programs that run on instances, bundled by esbuild into dist/ (one file each,
// dependencies included), ready to copy onto an AMI or into the container image.
import { build } from 'esbuild';

// knex requires every SQL driver lazily; only pg is installed and used.
const KNEX_UNUSED_DRIVERS = [
  'better-sqlite3',
  'mariadb',
  'mariadb/callback',
  'mysql',
  'mysql2',
  'oracledb',
  'pg-native',
  'pg-query-stream',
  'sqlite3',
  'tedious',
];

await build({
  entryPoints: {
    'web/main': 'ec2/web/main.ts',
    // The /load worker thread is loaded by file name, so it must be its own file beside main.
    'web/prime-worker': 'ec2/web/prime/prime-worker.ts',
    'sidecar/main': 'ec2/sidecar/main.ts',
    'metrics/main': 'ec2/metrics/main.ts',
  },
  // `npm run build -- DIR` writes elsewhere (tests build into a scratch folder, never over dist/).
  outdir: process.argv[2] ?? 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: KNEX_UNUSED_DRIVERS,
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'info',
});
