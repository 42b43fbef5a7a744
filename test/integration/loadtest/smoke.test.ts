import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { shapeReportData } from '../../../loadtest/src/report/report-data';
import { readLoadTestResult } from '../../../loadtest/src/report/write-report';
import { runScenario } from '../../../loadtest/src/run-scenario';
import { startWebHarness, type WebHarness } from '../../support/web-harness';

/** Collects artillery's console output, shown only when an assertion fails. */
function capture() {
  let text = '';
  const log = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { log, tail: () => text.slice(-3_000) };
}

// smoke lasts 4 s plus artillery's start, which alone takes 25 s on a loaded 2-core machine (measured: `artillery
// version`, load average 20): only a run that takes five minutes has hung.
const RUN_LIMIT_MS = 300_000;

// The two runs go to different servers and mostly wait on artillery's start: run them side by side.
describe('the smoke scenario with artillery, on 127.0.0.1', { concurrency: true }, () => {
  let dir: string;
  let harness: WebHarness;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudy-smoke-'));
    harness = await startWebHarness();
  });

  after(async () => {
    await harness?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes its thresholds against the app, having called every endpoint', async () => {
    // Prepare
    const { log, tail } = capture();

    // Act
    const run = await runScenario({
      scenario: 'smoke',
      target: harness.baseUrl,
      resultsDir: join(dir, 'app'),
      log,
      signal: AbortSignal.timeout(RUN_LIMIT_MS),
    });

    // Assess
    assert.equal(run.exitCode, 0, tail());
    assert.deepEqual(
      run.checks.map((check) => [check.passed, check.check]),
      [
        [true, 'maxErrorRate < 0'],
        [true, 'http.response_time.p99 < 2000'],
      ],
    );
    const result = readLoadTestResult(run.resultFile);
    assert.equal(result.run?.scenario, 'smoke');
    assert.equal(result.run?.exitCode, 0);
    const { endpoints, totals } = shapeReportData(result, 'smoke');
    assert.deepEqual(
      endpoints.map((e) => e.path),
      ['/', '/health', '/load', '/ready', '/users'],
    );
    for (const endpoint of endpoints) {
      assert.ok(
        Object.keys(endpoint.codes).every((code) => code.startsWith('2')),
        `${endpoint.path} answered ${JSON.stringify(endpoint.codes)}`,
      );
    }
    const [{ count }] = (await harness.web.db('users').where('username', 'like', 'loadtest-smoke-%').count({
      count: '*',
    })) as [{ count: string }];
    assert.equal(Number(count), totals.codes['201'], 'each virtual user added one user of its own');
    assert.ok(existsSync(run.reportFile));
    assert.match(readFileSync(run.reportFile, 'utf8'), /thresholds held/);
  });

  it('exits non-zero and says which check failed when an endpoint misbehaves', async () => {
    // Prepare: an app whose database is unreachable: /ready answers 503, everything else 200.
    const broken: Server = createServer((req, res) => {
      res.writeHead(req.url === '/ready' ? 503 : 200, { 'content-type': 'application/json' });
      res.end(req.url === '/ready' ? '{"error":"database unreachable"}' : '{"status":"ok"}');
    });
    broken.listen(0, '127.0.0.1');
    await once(broken, 'listening');
    const { port } = broken.address() as AddressInfo;
    const { log, tail } = capture();

    try {
      // Act
      const run = await runScenario({
        scenario: 'smoke',
        target: `http://127.0.0.1:${port}`,
        resultsDir: join(dir, 'broken'),
        log,
        signal: AbortSignal.timeout(RUN_LIMIT_MS),
      });

      // Assess
      assert.notEqual(run.exitCode, 0, tail());
      assert.deepEqual(
        run.checks.find((check) => check.check.startsWith('maxErrorRate')),
        { passed: false, check: 'maxErrorRate < 0', optional: false },
      );
      assert.match(readFileSync(run.reportFile, 'utf8'), /thresholds breached/);
    } finally {
      broken.closeAllConnections();
      broken.close();
    }
  });
});
