import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type LoadTestResult,
  parseLoadTestResult,
  ResultFormatError,
} from '../../../loadtest/src/load-test-result';
import { errorLabel, shapeReportData } from '../../../loadtest/src/report/report-data';

const T0 = Date.parse('2026-11-26T12:00:00Z');

function latency(p50: number, p95: number, p99: number, count = 10) {
  return {
    count,
    min: 1,
    max: p99 + 1,
    mean: p50,
    p50,
    median: p50,
    p75: p95,
    p90: p95,
    p95,
    p99,
    p999: p99,
  };
}

// Three 10-second periods as artillery writes them, given out of order; the middle one is overloaded.
const result: LoadTestResult = parseLoadTestResult(
  JSON.stringify({
    aggregate: {
      period: T0,
      firstMetricAt: T0 + 1_000,
      lastMetricAt: T0 + 29_000,
      counters: {
        'http.requests': 60,
        'http.responses': 57,
        'http.codes.200': 50,
        'http.codes.503': 7,
        'errors.ETIMEDOUT': 3,
        'vusers.created': 60,
        'vusers.failed': 3,
        'plugins.metrics-by-endpoint./load.codes.200': 30,
        'plugins.metrics-by-endpoint./load.codes.503': 7,
        'plugins.metrics-by-endpoint./load.errors.ETIMEDOUT': 3,
        'plugins.metrics-by-endpoint./.codes.200': 20,
      },
      rates: { 'http.request_rate': 2 },
      summaries: {
        'http.response_time': latency(20, 900, 1500, 57),
        'plugins.metrics-by-endpoint.response_time./load': latency(300, 1200, 1500, 37),
        'plugins.metrics-by-endpoint.response_time./': latency(2, 5, 8, 20),
      },
      histograms: {},
    },
    intermediate: [
      {
        period: String(T0 + 10_000),
        counters: { 'http.requests': 30, 'http.codes.200': 20, 'http.codes.503': 7, 'errors.ETIMEDOUT': 3 },
        rates: { 'http.request_rate': 3 },
        summaries: { 'http.response_time': latency(400, 1200, 1500) },
      },
      {
        period: T0,
        counters: { 'http.requests': 20, 'http.codes.200': 20, 'http.codes.304': 1 },
        rates: { 'http.request_rate': 2 },
        summaries: { 'http.response_time': latency(10, 20, 30) },
      },
      // A quiet last period: requests sent, none answered yet.
      {
        period: T0 + 20_000,
        counters: { 'http.requests': 10 },
        rates: { 'http.request_rate': 1 },
        summaries: {},
      },
    ],
  }),
  'sample.json',
);

describe('shapeReportData', () => {
  const data = shapeReportData(result, 'Load test: sample');

  it('orders the periods by time and gives each series one value per period', () => {
    assert.deepEqual(data.times, [T0, T0 + 10_000, T0 + 20_000]);
    assert.equal(data.periodSeconds, 10);
    assert.deepEqual(data.requestsPerSecond, [{ name: 'requests/s', values: [2, 3, 1] }]);
  });

  it('gives p50/p95/p99 per period, null where a period had no response', () => {
    assert.deepEqual(data.latencyMs, [
      { name: 'p50', values: [10, 400, null] },
      { name: 'p95', values: [20, 1200, null] },
      { name: 'p99', values: [30, 1500, null] },
    ]);
  });

  it('counts errors by code per period, the most frequent first, leaving out responses below 400', () => {
    assert.deepEqual(data.errorsByCode, [
      { name: 'HTTP 503', values: [0, 7, 0] },
      { name: 'ETIMEDOUT', values: [0, 3, 0] },
    ]);
  });

  it('sums up the whole run', () => {
    assert.deepEqual(data.totals, {
      requests: 60,
      responses: 57,
      codes: { '200': 50, '503': 7 },
      errors: { ETIMEDOUT: 3 },
      virtualUsers: 60,
      failedVirtualUsers: 3,
      p50: 20,
      p95: 900,
      p99: 1500,
      max: 1501,
      startedAt: T0 + 1_000,
      endedAt: T0 + 29_000,
    });
  });

  it('lists each endpoint with its codes, network errors and latency', () => {
    assert.deepEqual(data.endpoints, [
      { path: '/', responses: 20, codes: { '200': 20 }, errors: {}, p50: 2, p95: 5, p99: 8 },
      {
        path: '/load',
        responses: 37,
        codes: { '200': 30, '503': 7 },
        errors: { ETIMEDOUT: 3 },
        p50: 300,
        p95: 1200,
        p99: 1500,
      },
    ]);
  });

  it('has no verdict for a plain artillery result', () => {
    assert.equal(data.run, null);
  });
});

describe('errorLabel', () => {
  const cases: [string, string | undefined][] = [
    ['http.codes.503', 'HTTP 503'],
    ['http.codes.404', 'HTTP 404'],
    ['http.codes.201', undefined],
    ['http.codes.304', undefined],
    ['errors.ECONNRESET', 'ECONNRESET'],
    ['errors.Failed expectations for request /ready', 'Failed expectations for request /ready'],
    ['http.requests', undefined],
  ];
  for (const [counter, label] of cases) {
    it(`${counter} → ${label ?? 'not an error'}`, () => {
      assert.equal(errorLabel(counter), label);
    });
  }
});

describe('parseLoadTestResult', () => {
  it('names the field that is not what artillery writes', () => {
    assert.throws(
      () => parseLoadTestResult(JSON.stringify({ aggregate: { period: 1 }, intermediate: {} }), 'r.json'),
      (error: Error) =>
        error instanceof ResultFormatError &&
        /r\.json is not an artillery result: intermediate/.test(error.message),
    );
  });

  it('says when the file is not JSON at all', () => {
    assert.throws(() => parseLoadTestResult('Log file: x', 'r.json'), /r\.json is not JSON/);
  });
});
