import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, renderReportHtml } from '../../../loadtest/src/report/render-report';
import type { ReportData } from '../../../loadtest/src/report/report-data';

const T0 = Date.parse('2026-11-26T12:00:00Z');

function data(overrides: Partial<ReportData> = {}): ReportData {
  return {
    title: 'Load test: smoke',
    run: {
      scenario: 'smoke',
      target: 'http://127.0.0.1:8080',
      startedAt: '2026-11-26T12:00:00.000Z',
      exitCode: 0,
      checks: [{ passed: true, check: 'http.response_time.p99 < 2000', optional: false }],
    },
    times: [T0, T0 + 10_000],
    periodSeconds: 10,
    requestsPerSecond: [{ name: 'requests/s', values: [5, 6] }],
    latencyMs: [{ name: 'p99', values: [12, 14] }],
    errorsByCode: [],
    totals: {
      requests: 110,
      responses: 110,
      codes: { '200': 100, '503': 10 },
      errors: {},
      virtualUsers: 20,
      failedVirtualUsers: 0,
      p50: 3,
      p95: 9.5,
      p99: 1234,
      max: 1300,
      startedAt: T0,
      endedAt: T0 + 75_000,
    },
    endpoints: [],
    ...overrides,
  };
}

describe('renderReportHtml', () => {
  it('shows the verdict, the target, the totals and every check', () => {
    // Act
    const html = renderReportHtml(data());

    // Assess
    assert.match(html, /<span class="verdict passed">thresholds held<\/span>/);
    assert.match(html, /target <code>http:\/\/127\.0\.0\.1:8080<\/code>/);
    assert.match(html, /duration 1 min 15 s/);
    assert.match(html, /<b>1\.23 s<\/b><span>p99 latency<\/span>/);
    assert.match(html, /<b>10<\/b><span>responses ≥ 400<\/span>/);
    assert.match(html, /<td class="ok">ok<\/td><td><code>http\.response_time\.p99 &#60; 2000<\/code>/);
  });

  it('marks a breached run as failed', () => {
    // Prepare
    const run = { ...data().run, exitCode: 1 } as ReportData['run'];
    // Act / Assess
    assert.match(renderReportHtml(data({ run })), /<span class="verdict failed">thresholds breached<\/span>/);
  });

  it('references nothing outside the file and forbids fetching anything', () => {
    // Act
    const html = renderReportHtml(data());

    // Assess
    assert.doesNotMatch(html, /\b(src|href)=/);
    assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1:8080|www\.w3\.org\/2000\/svg)/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  it('cannot be broken out of by a hostile name in the data', () => {
    // Prepare
    const hostile = '</script><img src=x onerror=alert(1)>';
    // Act
    const html = renderReportHtml(
      data({ errorsByCode: [{ name: hostile, values: [1, 0] }], title: hostile }),
    );

    // Assess
    assert.equal(html.split('</script>').length - 1, 2, 'only the two real script elements close');
    assert.doesNotMatch(html, /<img/);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and attributes', () => {
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;',
    );
  });
});
