import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../../scripts/bake-ami/bundle';
import { freePort, startTestPostgres, type TestPostgres } from '../../support/local-postgres';

// The bundle exactly as bake-ami ships it to the AMI (and as the container image runs dist/web): built,
// packed, unpacked elsewhere, then run with plain `node` — no Docker, no node_modules beside it.
const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'cloudy-bundle-'));
const dist = join(scratch, 'dist');

function unpackedBundle(): void {
  const bundle = buildBundle(projectRoot);
  writeFileSync(join(scratch, 'bundle.tar.gz'), bundle.archive);
  mkdirSync(dist);
  execFileSync('tar', ['-xzf', join(scratch, 'bundle.tar.gz'), '-C', dist]);
}

/** Runs a bundled entry with only the given environment (plus PATH) and collects its output. */
function run(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [join(dist, entry)], {
    cwd: scratch,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

async function stopWithSigterm(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  return code as number | null;
}

/** Asks until it answers or the attempts run out (startup takes a few seconds: migrations, workers). */
async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before answering`);
    const answered = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} never answered`);
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const body = async (req: IncomingMessage) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
};

describe('the bundle run with node alone', () => {
  before(() => {
    unpackedBundle();
  });

  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('holds every file the boot and bake scripts expect on the AMI', () => {
    for (const script of ['userdata/webserver.sh', 'userdata/bake-ami.sh']) {
      const text = readFileSync(join(projectRoot, script), 'utf8');
      const expected = [...text.matchAll(/(?:\$APP_DIR\/|\s)((?:web|metrics)\/[\w-]+\.m?js)\b/g)].map(
        (m) => m[1],
      );
      assert.ok(expected.length >= 4, `${script} names the bundle's files`);
      for (const file of expected) assert.ok(existsSync(join(dist, file ?? '')), `${script} expects ${file}`);
    }
  });

  describe('web/main.mjs', () => {
    let pg: TestPostgres;

    before(async () => {
      pg = await startTestPostgres();
    });

    after(async () => {
      await pg?.destroy();
    });

    it('serves /health, /users and /load, then exits 0 on SIGTERM', async () => {
      // Act
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const web = run('web/main.mjs', {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: pg.url,
        WEB_PROCESSES: '2',
        LOAD_THREADS: '2',
        SHUTDOWN_GRACE_MS: '2000',
        LOG_LEVEL: 'warn',
      });
      // Assess
      try {
        await waitForHealth(`${base}/health`, web.child);

        const added = await fetch(`${base}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bundle', email: 'bundle@example.com' }),
        });
        assert.equal(added.status, 201);
        const users = (await (await fetch(`${base}/users`)).json()) as Array<{ username: string }>;
        assert.deepEqual(
          users.map((user) => user.username),
          ['bundle'],
        );
        // The worker thread is a file of its own beside main.mjs: this proves it was shipped and found.
        const load = (await (await fetch(`${base}/load?number=1000003`)).json()) as { isPrime: boolean };
        assert.equal(load.isPrime, true);
      } finally {
        const code = await stopWithSigterm(web.child);
        assert.equal(code, 0, web.output());
      }
    });
  });

  describe('metrics/main.mjs', () => {
    const imds = createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('token');
      if (req.headers['x-aws-ec2-metadata-token'] !== 'token') return res.writeHead(401).end();
      if (req.url === '/latest/meta-data/instance-id') return res.end('i-0bundle');
      if (req.url === '/latest/meta-data/tags/instance/aws:autoscaling:groupName')
        return res.end('cloudy-test-web');
      return res.writeHead(404).end();
    });
    const received: string[] = [];
    const cloudWatch = createServer(async (req, res) => {
      received.push(await body(req));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    });

    after(() => {
      imds.close();
      cloudWatch.close();
    });

    it('reports this machine’s /proc readings to CloudWatch each interval, then exits 0 on SIGTERM', async () => {
      // Act
      const metrics = run('metrics/main.mjs', {
        AWS_REGION: 'eu-west-1',
        METRICS_NAMESPACE: 'CloudyTest',
        METRICS_INTERVAL_SECONDS: '1',
        AWS_EC2_METADATA_SERVICE_ENDPOINT: await listen(imds),
        AWS_ENDPOINT_URL_CLOUDWATCH: await listen(cloudWatch),
        // Static test credentials, and the SDK told not to look for any in instance metadata.
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_EC2_METADATA_DISABLED: 'true',
        LOG_LEVEL: 'warn',
      });
      // Assess
      try {
        for (let attempt = 0; attempt < 100 && received.length === 0; attempt += 1) {
          if (metrics.child.exitCode !== null) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const request = JSON.parse(received[0] ?? '{}') as {
          Namespace?: string;
          MetricData?: Array<{ MetricName: string; Dimensions: Array<{ Name: string; Value: string }> }>;
        };
        assert.equal(request.Namespace, 'CloudyTest', metrics.output());
        assert.deepEqual(
          request.MetricData?.map((datum) => datum.MetricName),
          ['CPUUtilization', 'CPUUtilization', 'IOWait', 'IOWait', 'MemoryUtilization', 'MemoryUtilization'],
        );
        assert.deepEqual(request.MetricData?.[0]?.Dimensions, [
          { Name: 'InstanceId', Value: 'i-0bundle' },
          { Name: 'AutoScalingGroupName', Value: 'cloudy-test-web' },
        ]);
      } finally {
        const code = await stopWithSigterm(metrics.child);
        assert.equal(code, 0, metrics.output());
      }
    });
  });
});
