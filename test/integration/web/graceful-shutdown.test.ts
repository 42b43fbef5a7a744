import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort, startTestPostgres, type TestPostgres } from '../../support/local-postgres';
import { SLOW_PRIME } from '../../support/web-harness';

/** Starts the real entry point (as systemd does on an instance) and resolves once every process listens. */
async function startWebProcess(env: Record<string, string>, processes: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'web/main-instance.ts'], {
    env: { ...process.env, ...env, WEB_PROCESSES: String(processes), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let listening = 0;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      listening = output.split('"msg":"listening"').length - 1;
      if (listening === processes) resolve();
    });
    child.once('exit', (code) => reject(new Error(`web process exited early with ${code}: ${output}`)));
  });
  return child;
}

describe('SIGTERM', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres();
  });
  after(async () => {
    await pg.destroy();
  });

  for (const processes of [1, 2]) {
    it(`lets the in-flight request finish, then exits 0 (${processes} HTTP process${processes > 1 ? 'es' : ''})`, async () => {
      // Prepare
      const port = await freePort();
      const child = await startWebProcess(
        { DATABASE_URL: pg.url, PORT: String(port), HOST: '127.0.0.1' },
        processes,
      );
      const inFlight = fetch(`http://127.0.0.1:${port}/load?number=${SLOW_PRIME}`);
      await new Promise((resolve) => setTimeout(resolve, 100));

      // Act
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const response = await inFlight;
      const [code] = await exited;

      // Assess
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { isPrime: boolean }).isPrime, true);
      assert.equal(code, 0);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), /fetch failed/);
    });
  }
});

describe('web workers that die at start', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres();
  });
  after(async () => {
    await pg.destroy();
  });

  it('are restarted a few times, then the primary gives up with exit code 1 instead of looping for ever', async () => {
    // Prepare: the port is taken, so every HTTP worker fails to listen.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const child = spawn(process.execPath, ['--import', 'tsx', 'web/main-instance.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: pg.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        WEB_PROCESSES: '2',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });

    // Act
    const [code] = await once(child, 'exit');
    blocker.close();

    // Assess
    assert.equal(code, 1);
    assert.match(output, /web workers died within 30 s/);
  });
});
