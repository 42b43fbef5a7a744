// `npm test`'s runner: node's test runner over the test files, then a check that every file really ran tests.
//
//   node --import tsx scripts/run-tests.ts [FILE_OR_FOLDER ...]   (default: test/unit and test/integration)
//
// Why a wrapper: node's summary counts the tests that reported, so a file that exits early (before registering or
// finishing its tests) with status 0 looks like a file with nothing to say, and the run stays green. A second
// reporter (scripts/test-census-reporter.mjs) writes one line per finished test; a file with no test that passed or
// failed fails the run, by name. Each test also has a time limit, so a test that waits for ever fails instead of
// holding the run until CI's limit.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCommandLine } from '../shared/command-line';
import { parseCensus, summariseCensus } from './test-census';

// Above the longest test (the fault suite's short run, a few minutes on a loaded machine), far below CI's limit.
// Node.js 20 and 22 also fail a test whose promise is pending when the event loop empties; Node.js 24 keeps such a
// file waiting, so this limit is what fails a hanging test there. TEST_TIMEOUT_MS overrides it (the runner's tests).
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 10 * 60_000);
const DEFAULT_ROOTS = ['test/unit', 'test/integration'];
const REPORTER = fileURLToPath(new URL('./test-census-reporter.mjs', import.meta.url));

function testFiles(roots: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (path.endsWith('.test.ts')) found.push(resolve(path));
  };
  for (const root of roots) {
    if (!statSync(root, { throwIfNoEntry: false })) throw new Error(`no such test file or folder: ${root}`);
    if (statSync(root).isFile()) found.push(resolve(root));
    else walk(root);
  }
  return found.sort();
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const { positionals: args } = readCommandLine({
  name: 'run-tests',
  usage: `usage: node --import tsx scripts/run-tests.ts [FILE_OR_FOLDER ...]
       npm run test:unit | npm run test:integration

Runs the test files (*.test.ts) under each FILE_OR_FOLDER (default test/unit and test/integration) with node's
test runner, then fails if a file ran no test. TEST_TIMEOUT_MS sets each test's time limit (default 10 minutes).`,
  options: {},
  allowPositionals: true,
});
const files = testFiles(args.length > 0 ? args : DEFAULT_ROOTS);
if (files.length === 0) {
  say(`no test files under ${args.join(' ')}`);
  process.exit(1);
}
const scratch = mkdtempSync(join(tmpdir(), 'cloudy-test-census-'));
const censusFile = join(scratch, 'census.jsonl');
const runner = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${REPORTER}`,
    `--test-reporter-destination=${censusFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
const [runnerCode] = (await once(runner, 'exit')) as [number | null];
const summary = summariseCensus(files, parseCensus(readFileSync(censusFile, 'utf8')));
rmSync(scratch, { recursive: true, force: true });

say(`\ntest census: ${summary.files} test files, ${summary.passed + summary.failed} tests ran`);
for (const file of summary.silentFiles) say(`  no test ran in ${file}: it registered none or exited early`);
say(`tests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
process.exit(runnerCode === 0 && summary.silentFiles.length === 0 && summary.failed === 0 ? 0 : 1);
