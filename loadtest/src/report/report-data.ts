import type { LoadTestResult, PeriodMetrics, RunInfo } from '../load-test-result';

/** One line or bar series of a chart: a value per period, `null` where the period had none. */
export interface Series {
  name: string;
  values: (number | null)[];
  /** Drawn dashed: a threshold or a target rather than a measurement. */
  dashed?: boolean;
}

/** What a rehearsal of the web tier (test/rehearsal) adds to the load-test report, on the same periods. */
export interface RehearsalReportData {
  /** Each instance's CPU, the group's average, and the alarm thresholds. */
  cpu: Series[];
  /** 1 while an alarm is in ALARM, 0 in OK, null with insufficient data. */
  alarms: Series[];
  /** Desired capacity, instances in service, healthy targets. */
  capacity: Series[];
  events: { t: number; kind: string; text: string; instance?: string }[];
  /** Label → value lines shown above the charts (the mapping, timings, usage). */
  facts: [string, string][];
}

interface EndpointRow {
  path: string;
  responses: number;
  /** Status code → count. */
  codes: Record<string, number>;
  /** Network errors (ETIMEDOUT, ECONNRESET …) → count. */
  errors: Record<string, number>;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Everything the HTML report shows, in plain values: the page only draws it. */
export interface ReportData {
  title: string;
  /** `elapsed`: times count from the start of the run (a rehearsal's AWS time), not UTC clock times. */
  timeAxis?: 'elapsed';
  rehearsal?: RehearsalReportData;
  run: RunInfo | null;
  /** Start of each period (epoch ms); every series has one value per entry. */
  times: number[];
  /** Length of one period: artillery reports every 10 s unless told otherwise. */
  periodSeconds: number;
  requestsPerSecond: Series[];
  latencyMs: Series[];
  /** HTTP responses ≥ 400 and errors without a response, per period, largest total first. */
  errorsByCode: Series[];
  totals: {
    requests: number;
    responses: number;
    codes: Record<string, number>;
    errors: Record<string, number>;
    virtualUsers: number;
    failedVirtualUsers: number;
    p50: number | null;
    p95: number | null;
    p99: number | null;
    max: number | null;
    startedAt: number | null;
    endedAt: number | null;
  };
  endpoints: EndpointRow[];
}

const RESPONSE_TIME = 'http.response_time';
const HTTP_CODE = /^http\.codes\.(\d{3})$/;
const ERROR = /^errors\.(.+)$/;
const ENDPOINT_CODE = /^plugins\.metrics-by-endpoint\.(.+)\.codes\.(\d{3})$/;
const ENDPOINT_ERROR = /^plugins\.metrics-by-endpoint\.(.+)\.errors\.(.+)$/;
const ENDPOINT_TIME = /^plugins\.metrics-by-endpoint\.response_time\.(.+)$/;

export function shapeReportData(result: LoadTestResult, title: string): ReportData {
  const periods = [...result.intermediate].sort((a, b) => a.period - b.period);
  const { aggregate } = result;
  const latency = aggregate.summaries[RESPONSE_TIME];
  return {
    title,
    run: result.run ?? null,
    times: periods.map((p) => p.period),
    periodSeconds: periodSeconds(periods),
    requestsPerSecond: [
      { name: 'requests/s', values: periods.map((p) => p.rates['http.request_rate'] ?? null) },
    ],
    latencyMs: (['p50', 'p95', 'p99'] as const).map((name) => ({
      name,
      values: periods.map((p) => p.summaries[RESPONSE_TIME]?.[name] ?? null),
    })),
    errorsByCode: errorSeries(periods),
    totals: {
      requests: aggregate.counters['http.requests'] ?? 0,
      responses: aggregate.counters['http.responses'] ?? 0,
      codes: matching(aggregate.counters, HTTP_CODE),
      errors: matching(aggregate.counters, ERROR),
      virtualUsers: aggregate.counters['vusers.created'] ?? 0,
      failedVirtualUsers: aggregate.counters['vusers.failed'] ?? 0,
      p50: latency?.p50 ?? null,
      p95: latency?.p95 ?? null,
      p99: latency?.p99 ?? null,
      max: latency?.max ?? null,
      startedAt: aggregate.firstMetricAt ?? periods[0]?.period ?? null,
      endedAt: aggregate.lastMetricAt ?? null,
    },
    endpoints: endpointRows(aggregate),
  };
}

const DEFAULT_PERIOD_SECONDS = 10;

// Periods start on multiples of their length and a period without metrics is left out: the smallest gap
// between two starts is the length.
function periodSeconds(periods: PeriodMetrics[]): number {
  const gaps = periods.slice(1).map((p, index) => p.period - (periods[index]?.period ?? 0));
  const smallest = Math.min(...gaps.filter((gap) => gap > 0));
  return Number.isFinite(smallest) ? smallest / 1000 : DEFAULT_PERIOD_SECONDS;
}

/** The label an error gets in the chart: `HTTP 503`, or the name of a network error. */
export function errorLabel(counter: string): string | undefined {
  const code = HTTP_CODE.exec(counter)?.[1];
  if (code) return Number(code) >= 400 ? `HTTP ${code}` : undefined;
  return ERROR.exec(counter)?.[1];
}

function errorSeries(periods: PeriodMetrics[]): Series[] {
  const byLabel = new Map<string, number[]>();
  periods.forEach((period, index) => {
    for (const [counter, count] of Object.entries(period.counters)) {
      const label = errorLabel(counter);
      if (!label) continue;
      let values = byLabel.get(label);
      if (!values) {
        values = periods.map(() => 0);
        byLabel.set(label, values);
      }
      values[index] = (values[index] ?? 0) + count;
    }
  });
  return [...byLabel]
    .map(([name, values]) => ({ name, values, total: values.reduce((sum, v) => sum + v, 0) }))
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name))
    .map(({ name, values }) => ({ name, values }));
}

function matching(counters: Record<string, number>, pattern: RegExp): Record<string, number> {
  const found: Record<string, number> = {};
  for (const [counter, count] of Object.entries(counters)) {
    const key = pattern.exec(counter)?.[1];
    if (key) found[key] = (found[key] ?? 0) + count;
  }
  return found;
}

// artillery's metrics-by-endpoint plugin (on by default) counts codes, errors and latency per path.
function endpointRows(aggregate: PeriodMetrics): EndpointRow[] {
  const rows = new Map<string, EndpointRow>();
  const row = (path: string) => {
    let found = rows.get(path);
    if (!found) {
      found = { path, responses: 0, codes: {}, errors: {}, p50: null, p95: null, p99: null };
      rows.set(path, found);
    }
    return found;
  };
  for (const [counter, count] of Object.entries(aggregate.counters)) {
    const code = ENDPOINT_CODE.exec(counter);
    if (code?.[1] && code[2]) {
      const entry = row(code[1]);
      entry.codes[code[2]] = (entry.codes[code[2]] ?? 0) + count;
      entry.responses += count;
      continue;
    }
    const error = ENDPOINT_ERROR.exec(counter);
    if (error?.[1] && error[2]) {
      const entry = row(error[1]);
      entry.errors[error[2]] = (entry.errors[error[2]] ?? 0) + count;
    }
  }
  for (const [name, summary] of Object.entries(aggregate.summaries)) {
    const path = ENDPOINT_TIME.exec(name)?.[1];
    if (!path) continue;
    Object.assign(row(path), { p50: summary.p50, p95: summary.p95, p99: summary.p99 });
  }
  return [...rows.values()].sort((a, b) => a.path.localeCompare(b.path));
}
