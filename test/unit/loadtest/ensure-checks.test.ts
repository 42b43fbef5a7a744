import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnsureChecks } from '../../../loadtest/src/ensure-checks';

describe('parseEnsureChecks', () => {
  it("reads artillery's verdicts after the last Checks: line, colours or not", () => {
    // Prepare: the end of a run's console output as artillery prints it (colours on in a terminal)
    const output = [
      'http.requests: ..................... 48',
      'Log file: loadtest/results/2026-11-26T12-26-13Z-smoke.json',
      '',
      'Checks:',
      '\u001b[32mok\u001b[39m: maxErrorRate < 1',
      '\u001b[31mfail\u001b[39m: http.response_time.p99 < 1000',
      'fail: http.response_time.2xx.count / http.requests >= 0.99 (optional)',
      '',
    ].join('\n');

    // Act
    const checks = parseEnsureChecks(output);

    // Assess
    assert.deepEqual(checks, [
      { passed: true, check: 'maxErrorRate < 1', optional: false },
      { passed: false, check: 'http.response_time.p99 < 1000', optional: false },
      { passed: false, check: 'http.response_time.2xx.count / http.requests >= 0.99', optional: true },
    ]);
  });

  it('finds no checks when artillery printed none (a scenario without ensure, or a crash)', () => {
    assert.deepEqual(parseEnsureChecks('All VUs finished. Total time: 6 seconds\nok: not a check\n'), []);
  });

  it('ignores lines before the Checks: block that look like verdicts', () => {
    // Prepare
    const output = 'fail: something a scenario logged\nChecks:\nok: maxErrorRate < 0\n';
    // Act / Assess
    assert.deepEqual(parseEnsureChecks(output), [
      { passed: true, check: 'maxErrorRate < 0', optional: false },
    ]);
  });
});
