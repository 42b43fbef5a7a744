// Every command a person runs answers --help with its usage and exit 0 having done nothing else, and refuses an
// unknown option with its usage and exit 2 (shared/command-line.ts). The commands are read from package.json, so a
// script added later is held to the same rule: each one runs a TypeScript file, or is listed below as another
// tool's command (which has its own --help).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../../../', import.meta.url).pathname;
const scripts = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

// Scripts that run another tool (which answers --help itself) or only chain other scripts.
const OTHER_TOOLS: Record<string, string> = {
  test: 'typecheck, lint, then scripts/run-tests.ts (held to the rule as test:unit)',
  typecheck: 'tsc',
  lint: 'biome',
  format: 'biome',
  package: 'sls package',
};

/** The TypeScript file an npm script runs (`tsx FILE ...` or `node --import tsx FILE ...`) and its fixed arguments. */
function tsCommand(script: string): { file: string; args: string[] } | undefined {
  const words = script.split(/\s+/);
  const at = words.findIndex((word) => word.endsWith('.ts'));
  const file = words[at];
  if (at < 0 || file === undefined || !/^(tsx|node --import tsx)$/.test(words.slice(0, at).join(' '))) {
    return undefined;
  }
  return { file, args: words.slice(at + 1) };
}

const scratch = mkdtempSync(join(tmpdir(), 'cloudy-26-help-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Runs FILE from an empty folder, so anything it writes relative to where it runs (a dist/ or --help folder,
 * docs/BENCHMARKS.md, .data/postgres) shows; the AWS SDK, were it ever reached, finds no credentials and a closed
 * local endpoint.
 */
async function run(file: string, args: string[]) {
  const cwd = mkdtempSync(join(scratch, 'cwd-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: cwd,
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, file), ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr, leftBehind: readdirSync(cwd) };
}

const commands = Object.entries(scripts).flatMap(([name, script]) => {
  const command = tsCommand(script);
  if (command) return [{ name: `npm run ${name}`, ...command }];
  assert.ok(
    OTHER_TOOLS[name],
    `package.json script "${name}" (${script}) neither runs a .ts file nor is listed`,
  );
  return [];
});
// Sub-commands with their own options.
commands.push(
  { name: 'npm run db -- status', file: 'scripts/db/cli.ts', args: ['status'] },
  { name: 'npm run db -- switchover', file: 'scripts/db/cli.ts', args: ['switchover'] },
);

describe('every command a person runs', () => {
  it('covers the commands the issue names', () => {
    // Assess
    const names = commands.map((command) => command.name);
    for (const name of ['db', 'bake-ami', 'bench', 'build', 'chaos', 'loadtest', 'start']) {
      assert.ok(names.includes(name === 'start' ? 'npm run start' : `npm run ${name}`), name);
    }
  });

  for (const command of commands) {
    describe(command.name, () => {
      it('answers --help with its usage on stdout and exit 0, doing nothing else', async () => {
        // Act
        const result = await run(command.file, [...command.args, '--help']);
        // Assess
        assert.equal(result.stderr, '');
        assert.match(result.stdout, /^usage:\s/);
        assert.equal(result.code, 0);
        assert.deepEqual(result.leftBehind, []);
      });

      it('refuses an unknown option with its usage on stderr and exit 2, doing nothing else', async () => {
        // Act
        const result = await run(command.file, [...command.args, '--no-such-option']);
        // Assess
        assert.equal(result.stdout, '');
        assert.match(result.stderr, /Unknown option '--no-such-option'[\s\S]*\nusage:\s/);
        assert.equal(result.code, 2);
        assert.deepEqual(result.leftBehind, []);
      });
    });
  }
});
