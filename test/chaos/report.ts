import type { ChaosResult } from './chaos';
import type { ClusterTiming } from './cluster';
import { CRASH_FREEZE_PARTITION, type Fault, PLANNED_FAULTS } from './faults';

export const CHAOS_START = '<!-- chaos:start -->';
export const CHAOS_END = '<!-- chaos:end -->';

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

const seconds = (ms: number) => (Number.isNaN(ms) ? '–' : `${(ms / 1000).toFixed(1)} s`);

/** A Markdown table with padded columns, laid out exactly as the repository's formatter (biome) lays it out. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(3, cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${widths.map((width, column) => (cells[column] ?? '').padEnd(width)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export function renderChaosTable(input: {
  result: ChaosResult;
  timing: ClusterTiming;
  /** describeEc2Timing's line: what the emulated EC2 API was set to. */
  ec2: string;
  skipOsShutdown: boolean;
  promotionDeadlineMs: number;
  sidecars: number;
  faults: readonly Fault[];
  startedAt: Date;
  machine: string;
  /** The arguments the run was given, as typed after `npm run chaos --`. */
  command: string;
}): string {
  const { result, timing } = input;
  const groups: [string, (fault: Fault) => boolean][] = [
    ...input.faults.map((name): [string, (fault: Fault) => boolean] => [name, (fault) => fault === name]),
    ['unplanned: crash, freeze, partition', (fault) => CRASH_FREEZE_PARTITION.includes(fault)],
    ['**unplanned: every fault but the handover**', (fault) => !PLANNED_FAULTS.includes(fault)],
    ['planned handover (sigterm-holder)', (fault) => PLANNED_FAULTS.includes(fault)],
    ['all', () => true],
  ];
  const rows = groups.map(([fault, member]) => {
    const cycles = result.cycles.filter((c) => member(c.fault));
    const times = cycles.map((c) => c.takeoverMs);
    const outages = cycles.flatMap((c) => (c.writeOutageMs === undefined ? [] : [c.writeOutageMs]));
    const max = (values: number[]) => (values.length > 0 ? Math.max(...values) : Number.NaN);
    return [
      fault,
      String(times.length),
      String(cycles.filter((c) => c.to === c.from).length),
      seconds(percentile(times, 50)),
      seconds(percentile(times, 99)),
      seconds(max(times)),
      seconds(percentile(outages, 50)),
      seconds(percentile(outages, 99)),
      seconds(max(outages)),
    ];
  });
  const { sampler } = result;
  return [
    `Run of ${input.startedAt.toISOString().slice(0, 16)}Z: \`npm run chaos -- ${input.command}\` (${result.cycles.length} cycles), ` +
      `production path: ${input.sidecars} instances (ec2-fencer with ` +
      `SkipOsShutdown ${input.skipOsShutdown ? 'on' : '**off**'}, ec2-promoter, promotion deadline ` +
      `${input.promotionDeadlineMs / 1000} s) on one shared data directory, the failover Lambda in the loop ` +
      `(${result.failoverRuns} runs), writes through the web app and the VIP router; lease TTL ${timing.ttlMs / 1000} s ` +
      `(renew every ${timing.renewIntervalMs / 1000} s, self-fence ${timing.selfFenceMarginMs / 1000} s before expiry, ` +
      `expiry margin ${timing.clockSkewMs / 1000} s, standby poll ${timing.standbyPollMs / 1000} s); ${input.ec2}; ${input.machine}.`,
    '',
    markdownTable(
      ['invariant', 'measured'],
      [
        [
          'samples with two PostgreSQL servers on the data directory',
          `**${sampler.twoServerSamples}** of ${sampler.samples} (every 20 ms; longest gap ${Math.round(sampler.maxGapMs)} ms)`,
        ],
        [
          'acknowledged writes (POST /users → 201) missing after a takeover or at the end',
          `**${result.lost}** of ${result.acknowledged} acknowledged`,
        ],
        [
          'data verified at the end (checksums on, amcheck heap + indexes)',
          `checksums ${result.data.checksums ? 'on' : '**off**'}, fsync/full_page_writes/synchronous_commit ` +
            `${Object.values(result.data.durability).join('/')}, **${result.data.heapProblems}** heap problems, ` +
            `${result.data.indexesChecked} index(es) checked, **${result.data.checksumFailures}** checksum failures`,
        ],
        ...(result.aborted ? [['run stopped early', `**${result.aborted}**`]] : []),
        [
          'healthy primaries replaced while a clock stepped (clock-jump)',
          `**${result.cycles.filter((c) => c.faultProblem).length}** of ${result.cycles.filter((c) => c.fault === 'clock-jump').length}`,
        ],
        ['EC2 errors injected (ec2-errors: throttling, 5xx)', String(result.injectedEc2Errors)],
      ],
    ),
    '',
    markdownTable(
      [
        'fault on the holder',
        'cycles',
        'same holder',
        'takeover p50',
        'p99',
        'max',
        'write outage p50',
        'p99',
        'max',
      ],
      rows,
    ),
    '',
    'Takeover: fault injected (clock-jump: the crash after the 2·T in which the stepped clocks must change ' +
      'nothing) → a new generation of the lease answers queries and the VIP route targets it. Write outage: the ' +
      'longest time without a 201 to the client that POSTs /users through the web app, from the last one before ' +
      'the fault to the first one for a write sent after the takeover. Same holder: the new generation is the ' +
      'restarted sidecar of the old holder (its precedence), not a peer.',
    '',
    '<details><summary>Raw data: every cycle (fault, takeover s, write outage s, from → to token)</summary>',
    '',
    markdownTable(
      ['#', 'fault', 'takeover', 'write outage', 'tokens'],
      result.cycles.map((c, i) => [
        String(i + 1),
        c.fault,
        (c.takeoverMs / 1000).toFixed(2),
        c.writeOutageMs === undefined ? '–' : (c.writeOutageMs / 1000).toFixed(2),
        `${c.fromToken} → ${c.toToken}${c.faultProblem ? ` (${c.faultProblem})` : ''}`,
      ]),
    ),
    '',
    '</details>',
  ].join('\n');
}

/** Adds a run's table at the top of the text between the chaos markers (earlier runs stay below it). */
export function addRunBetweenMarkers(text: string, content: string): string {
  const start = text.indexOf(CHAOS_START);
  const end = text.indexOf(CHAOS_END);
  if (start < 0 || end < start)
    return `${text.trimEnd()}\n\n## Database tier under faults\n\n${CHAOS_START}\n${content}\n${CHAOS_END}\n`;
  const earlier = text.slice(start + CHAOS_START.length, end).trim();
  const block = `${CHAOS_START}\n${content}\n${earlier ? `\n${earlier}\n` : ''}${CHAOS_END}`;
  return `${text.slice(0, start)}${block}${text.slice(end + CHAOS_END.length)}`;
}
