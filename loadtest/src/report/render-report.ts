import { readFileSync } from 'node:fs';
import type { EnsureCheck } from '../ensure-checks';
import type { RehearsalReportData, ReportData } from './report-data';

const CHARTS_SCRIPT = readFileSync(new URL('./charts.browser.js', import.meta.url), 'utf8');

// Nothing may be fetched: the report is one file to attach, archive or open offline. The policy makes a
// stray external reference fail visibly instead of silently depending on the network.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const STYLE = `
  :root { font-family: system-ui, sans-serif; color: #1d2433; background: #fff; }
  body { max-width: 1000px; margin: 24px auto; padding: 0 16px; }
  h1 { font-size: 1.5rem; margin: 0 0 4px; }
  h2 { font-size: 1.1rem; margin: 28px 0 8px; }
  .meta { color: #5a6478; margin: 0 0 16px; }
  .verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; font-weight: 600; color: #fff; }
  .verdict.passed { background: #2e7d32; } .verdict.failed { background: #c62828; } .verdict.unknown { background: #757575; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 8px; }
  .tile { border: 1px solid #dde2ea; border-radius: 6px; padding: 8px 12px; }
  .tile b { display: block; font-size: 1.3rem; } .tile span { color: #5a6478; font-size: .85rem; }
  figure { margin: 16px 0; border: 1px solid #dde2ea; border-radius: 6px; padding: 8px 12px; }
  figcaption { font-weight: 600; }
  svg { width: 100%; height: auto; display: block; }
  svg text { font-size: 11px; fill: #5a6478; } svg .empty { font-size: 14px; }
  svg .grid line { stroke: #eef1f5; } svg .axis { stroke: #9aa3b2; }
  svg .series { fill: none; stroke-width: 2; }
  .legend { list-style: none; display: flex; flex-wrap: wrap; gap: 16px; padding: 0; margin: 4px 0 0; font-size: .85rem; }
  .legend span { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px; border-radius: 2px; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f5; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .ok { color: #2e7d32; } .fail { color: #c62828; font-weight: 600; }
  footer { margin-top: 32px; color: #8a93a3; font-size: .8rem; }
`;

/** The report as one HTML document: summary and tables rendered here, charts drawn by the inlined script. */
export function renderReportHtml(data: ReportData): string {
  const { run, totals } = data;
  const verdict = run ? (run.exitCode === 0 ? 'passed' : 'failed') : 'unknown';
  const verdictText = { passed: 'thresholds held', failed: 'thresholds breached', unknown: 'no verdict' }[
    verdict
  ];
  const duration =
    totals.startedAt !== null && totals.endedAt !== null
      ? formatDuration(totals.endedAt - totals.startedAt)
      : 'unknown';
  const errorResponses = Object.entries(totals.codes)
    .filter(([code]) => Number(code) >= 400)
    .reduce((sum, [, count]) => sum + count, 0);
  const meta = [
    run ? `scenario <b>${escapeHtml(run.scenario)}</b>` : '',
    run?.stage ? `stage <b>${escapeHtml(run.stage)}</b>` : '',
    run ? `target <code>${escapeHtml(run.target)}</code>` : '',
    totals.startedAt !== null && data.timeAxis !== 'elapsed'
      ? `started ${escapeHtml(new Date(totals.startedAt).toISOString())}`
      : '',
    `duration ${duration}`,
  ].filter(Boolean);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)} <span class="verdict ${verdict}">${verdictText}</span></h1>
<p class="meta">${meta.join(' · ')}</p>
</header>
<section class="tiles">
${tile(formatCount(totals.requests), 'requests')}
${tile(formatMs(totals.p50), 'p50 latency')}
${tile(formatMs(totals.p95), 'p95 latency')}
${tile(formatMs(totals.p99), 'p99 latency')}
${tile(formatCount(errorResponses), 'responses ≥ 400')}
${tile(`${formatCount(totals.failedVirtualUsers)} / ${formatCount(totals.virtualUsers)}`, 'failed virtual users')}
</section>
${checksSection(run?.checks ?? [])}
<figure id="chart-throughput"><figcaption>Requests per second</figcaption></figure>
<figure id="chart-latency"><figcaption>Response time p50 / p95 / p99 (ms)</figcaption></figure>
<figure id="chart-errors"><figcaption>Errors by code (HTTP status ≥ 400, or the network error)</figcaption></figure>
${data.rehearsal ? rehearsalSections(data.rehearsal) : ''}
${endpointsSection(data)}
<footer>${
    data.timeAxis === 'elapsed'
      ? `Times are minutes of AWS time since the load started. Each point is one ${data.periodSeconds}-second period.`
      : `Times are UTC. Each point is one ${data.periodSeconds}-second period of artillery's result.`
  }</footer>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${CHARTS_SCRIPT}</script>
</body>
</html>
`;
}

function rehearsalSections(rehearsal: RehearsalReportData): string {
  const facts = rehearsal.facts
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('\n');
  const events = rehearsal.events
    .map(
      (e) =>
        `<tr><td class="num">${formatClock(e.t)}</td><td>${escapeHtml(e.kind)}</td>` +
        `<td>${escapeHtml(e.instance ?? '')}</td><td>${escapeHtml(e.text)}</td></tr>`,
    )
    .join('\n');
  return `<figure id="chart-cpu"><figcaption>CPUUtilization per instance and the group's average, against the thresholds (%)</figcaption></figure>
<figure id="chart-alarms"><figcaption>Alarm states (1 = ALARM, 0 = OK)</figcaption></figure>
<figure id="chart-capacity"><figcaption>Desired capacity, instances in service, healthy targets</figcaption></figure>
<figure id="chart-events"><figcaption>Events: alarm → policy → launch → healthy → in service; deregister → drain → terminate</figcaption></figure>
<h2>Rehearsal</h2>
<table><tbody>
${facts}
</tbody></table>
<h2>Events</h2>
<table><thead><tr><th class="num">time</th><th>kind</th><th>instance</th><th>what</th></tr></thead>
<tbody>
${events}
</tbody></table>`;
}

function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function tile(value: string, label: string): string {
  return `<div class="tile"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

function checksSection(checks: EnsureCheck[]): string {
  if (checks.length === 0) return '';
  const rows = checks
    .map(
      (c) =>
        `<tr><td class="${c.passed ? 'ok' : 'fail'}">${c.passed ? 'ok' : 'fail'}</td>` +
        `<td><code>${escapeHtml(c.check)}</code>${c.optional ? ' (optional)' : ''}</td></tr>`,
    )
    .join('\n');
  return `<h2>Thresholds (artillery ensure)</h2>\n<table><tbody>\n${rows}\n</tbody></table>`;
}

function endpointsSection({ endpoints }: ReportData): string {
  if (endpoints.length === 0) return '';
  const rows = endpoints
    .map((e) => {
      const codes = Object.entries({ ...e.codes, ...e.errors })
        .map(([code, count]) => `${escapeHtml(code)}: ${formatCount(count)}`)
        .join(', ');
      return (
        `<tr><td><code>${escapeHtml(e.path)}</code></td><td class="num">${formatCount(e.responses)}</td>` +
        `<td class="num">${formatMs(e.p50)}</td><td class="num">${formatMs(e.p95)}</td>` +
        `<td class="num">${formatMs(e.p99)}</td><td>${codes}</td></tr>`
      );
    })
    .join('\n');
  return `<h2>By endpoint</h2>
<table><thead><tr><th>path</th><th class="num">responses</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th>codes and errors</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// JSON inside <script> ends at the first "</script"; escaping every "<" keeps any string from closing it.
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function formatCount(n: number): string {
  return n.toLocaleString('en');
}

function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
}
