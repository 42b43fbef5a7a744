import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const fixture = (name: string) => `test/fixtures/test-trust/${name}.ts`;

/** A child run as a user starts it, outside this runner (NODE_TEST_CONTEXT would make it report to us instead). */
async function run(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const env = { ...inherited, ...extraEnv };
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO, env, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('a test that can pass by accident', () => {
  // Node.js 22 fails it when the event loop empties, Node.js 24 only at the time limit: either way, not a pass.
  it('fails when it waits for ever after using the PostgreSQL helper, under node --test', async () => {
    // Act
    const { code, output } = await run(['--test', '--test-timeout=5000', fixture('hangs-after-postgres')]);

    // Assess
    assert.notEqual(code, 0, output);
    assert.match(
      output,
      /Promise resolution is still pending but the event loop has already resolved|timed out/,
    );
  });

  it('fails the run, counted as a failed test, when a test waits for ever', async () => {
    // Act
    const { code, output } = await run(['scripts/run-tests.ts', fixture('hangs-after-postgres')], {
      TEST_TIMEOUT_MS: '5000',
    });

    // Assess
    assert.equal(code, 1, output);
    assert.match(output, /^tests: 0 passed, 1 failed, 0 skipped$/m);
  });

  it('fails the run when a file registers no test, naming the file', async () => {
    // Act
    const { code, output } = await run([
      'scripts/run-tests.ts',
      fixture('registers-none'),
      fixture('passes'),
    ]);

    // Assess
    assert.equal(code, 1, output);
    assert.match(output, /no test ran in .*registers-none\.ts/);
    assert.doesNotMatch(output, /no test ran in .*passes\.ts/);
  });

  it('fails the run when a file exits with status 0 before its test reports', async () => {
    // Act
    const { code, output } = await run(['scripts/run-tests.ts', fixture('exits-early')]);

    // Assess
    assert.equal(code, 1, output);
    assert.match(output, /no test ran in .*exits-early\.ts/);
  });

  it('passes a file whose tests ran, and prints how many files and tests it ran', async () => {
    // Act
    const { code, output } = await run(['scripts/run-tests.ts', fixture('passes')]);

    // Assess
    assert.equal(code, 0, output);
    assert.match(output, /test census: 1 test files, 1 tests ran/);
    assert.match(output, /^tests: 1 passed, 0 failed, 0 skipped$/m);
  });
});
