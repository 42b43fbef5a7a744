// A rehearsal's timeline as the load-test report (loadtest/src/report), extended with the tier's own charts:
// CPU per instance against the thresholds, alarm states, capacity, events, on one time axis of AWS time.
import { writeFileSync } from 'node:fs';
import type { LoadTestResult } from '../../loadtest/src/load-test-result';
import { renderReportHtml } from '../../loadtest/src/report/render-report';
import type { ReportData, Series } from '../../loadtest/src/report/report-data';
import { quantile, type Timeline } from './rehearsal';
import { REPORT_BUCKET_SECONDS } from './timings';

export interface RehearsalSummary {
  scenario: string;
  policy: string;
  requests: number;
  codes: Record<string, number>;
  /** Responses that are neither 2xx nor the app's documented 503 shedding (a 503 from an instance). */
  failures: number;
  /** 503s answered by an instance (the /load queue full: Retry-After) vs by the load balancer (no target). */
  shed503: number;
  p50: number | null;
  p99: number | null;
  instanceMinutes: number;
  surplusVcpuMinutes: number;
  maxDesired: number;
  desiredChanges: number;
  /** Failures inside a window: scale-in (deregistration to termination) and rolling replacement. */
  failuresDuringScaleIn: number;
  failuresDuringRolling: number;
  firstHighAlarmAt: number | null;
  firstScaleOutAt: number | null;
  newInstanceHealthyAt: number | null;
  backToMinAt: number | null;
}

export function summarize(timeline: Timeline, scenario: string, min: number): RehearsalSummary {
  const codes: Record<string, number> = {};
  for (const r of timeline.requests) codes[r.status] = (codes[r.status] ?? 0) + 1;
  const failed = (r: { status: number; target: string | null }) =>
    !(r.status >= 200 && r.status < 400) && !(r.status === 503 && r.target !== null);
  const windows = (start: string, end: string) => {
    const result: [number, number][] = [];
    for (const e of timeline.events.filter((x) => x.kind === start)) {
      const done = timeline.events.find((x) => x.kind === end && x.instance === e.instance && x.t >= e.t);
      result.push([e.t, done?.t ?? Number.POSITIVE_INFINITY]);
    }
    return result;
  };
  const scaleIn = windows('terminate', 'terminated').filter(([from]) =>
    timeline.events.some((e) => e.kind === 'terminate' && e.t === from && e.text.startsWith('scale-in')),
  );
  const rolling = timeline.rolling.map((r) => [r.fromT, r.toT] as [number, number]);
  const inside = (spans: [number, number][]) =>
    timeline.requests.filter((r) => failed(r) && spans.some(([a, b]) => r.at / 1000 >= a && r.at / 1000 <= b))
      .length;
  const latencies = timeline.requests.map((r) => r.ms).sort((a, b) => a - b);
  const desiredEvents = timeline.events.filter((e) => e.kind === 'desired');
  const highAlarm = timeline.events.find(
    (e) => e.kind === 'alarm' && /→ ALARM/.test(e.text) && /high|AlarmHigh/.test(e.text),
  );
  const scaleOut = desiredEvents.find(
    (e) => /→ (\d+)/.exec(e.text) && Number(/→ (\d+)/.exec(e.text)?.[1]) > min,
  );
  const launched = scaleOut
    ? timeline.events.find((e) => e.kind === 'launch' && e.t >= scaleOut.t)
    : undefined;
  const healthy = launched
    ? timeline.events.find(
        (e) => e.kind === 'target' && e.instance === launched.instance && /→ healthy/.test(e.text),
      )
    : undefined;
  const backToMin = scaleOut
    ? desiredEvents.find((e) => e.t > scaleOut.t && Number(/→ (\d+)/.exec(e.text)?.[1]) === min)
    : undefined;
  return {
    scenario,
    policy: timeline.policy,
    requests: timeline.requests.length,
    codes,
    failures: timeline.requests.filter(failed).length,
    shed503: timeline.requests.filter((r) => r.status === 503 && r.target !== null).length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    instanceMinutes: Math.round((timeline.usage.instanceSeconds / 60) * 10) / 10,
    surplusVcpuMinutes: timeline.usage.surplusVcpuMinutes,
    maxDesired: Math.max(min, ...timeline.buckets.map((b) => b.desired)),
    desiredChanges: desiredEvents.length,
    failuresDuringScaleIn: inside(scaleIn),
    failuresDuringRolling: inside(rolling),
    firstHighAlarmAt: highAlarm?.t ?? null,
    firstScaleOutAt: scaleOut?.t ?? null,
    newInstanceHealthyAt: healthy?.t ?? null,
    backToMinAt: backToMin?.t ?? null,
  };
}

export function reportData(
  timeline: Timeline,
  summary: RehearsalSummary,
  artillery: LoadTestResult | null,
  facts: [string, string][],
): ReportData {
  const times = timeline.buckets.map((b) => b.t * 1000);
  const instances = [...new Set(timeline.buckets.flatMap((b) => Object.keys(b.cpu)))].sort();
  const codes = [...new Set(timeline.buckets.flatMap((b) => Object.keys(b.codes)))].filter(
    (c) => Number(c) >= 400,
  );
  const alarmNames = Object.keys(timeline.buckets[0]?.alarms ?? {});
  const constant = (value: number) => timeline.buckets.map(() => value);
  const cpu: Series[] = [
    ...instances.map((id) => ({ name: id, values: timeline.buckets.map((b) => b.cpu[id] ?? null) })),
    { name: 'average', values: timeline.buckets.map((b) => b.averageCpu) },
    ...timeline.thresholds.map((t) => ({
      name: `${t.name} ${t.value} %`,
      values: constant(t.value),
      dashed: true,
    })),
  ];
  const latencies = timeline.requests.map((r) => r.ms).sort((a, b) => a - b);
  const aggregate = artillery?.aggregate;
  return {
    title: `Rehearsal: ${summary.scenario}, ${summary.policy}`,
    timeAxis: 'elapsed',
    run: artillery?.run ?? null,
    times,
    periodSeconds: REPORT_BUCKET_SECONDS,
    requestsPerSecond: [{ name: 'requests/s', values: timeline.buckets.map((b) => b.requests) }],
    latencyMs: [
      { name: 'p50', values: timeline.buckets.map((b) => b.p50) },
      { name: 'p99', values: timeline.buckets.map((b) => b.p99) },
    ],
    errorsByCode: codes.map((code) => ({
      name: code,
      values: timeline.buckets.map((b) => b.codes[code] ?? 0),
    })),
    totals: {
      requests: timeline.requests.length,
      responses: timeline.requests.length,
      codes: summary.codes,
      errors: Object.fromEntries(
        Object.entries(aggregate?.counters ?? {})
          .filter(([k]) => k.startsWith('errors.'))
          .map(([k, v]) => [k.slice(7), v]),
      ),
      virtualUsers: aggregate?.counters['vusers.created'] ?? 0,
      failedVirtualUsers: aggregate?.counters['vusers.failed'] ?? 0,
      p50: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1) ?? null,
      startedAt: 0,
      endedAt: (timeline.buckets.at(-1)?.t ?? 0) * 1000,
    },
    endpoints: [],
    rehearsal: {
      cpu,
      alarms: alarmNames.map((name) => ({
        name,
        values: timeline.buckets.map((b) =>
          b.alarms[name] === 'ALARM' ? 1 : b.alarms[name] === 'OK' ? 0 : null,
        ),
      })),
      capacity: [
        { name: 'desired', values: timeline.buckets.map((b) => b.desired) },
        { name: 'in service', values: timeline.buckets.map((b) => b.inService) },
        { name: 'healthy targets', values: timeline.buckets.map((b) => b.healthyTargets) },
      ],
      events: timeline.events,
      facts,
    },
  };
}

export function writeRehearsalReport(file: string, data: ReportData): void {
  writeFileSync(file, renderReportHtml(data));
}
