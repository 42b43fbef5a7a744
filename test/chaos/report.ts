import type { ChaosResult } from './chaos';
import type { ClusterTiming } from './cluster';

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
  sidecars: number;
  faults: readonly string[];
  startedAt: Date;
  machine: string;
  /** The arguments the run was given, as typed after `npm run chaos --`. */
  command: string;
}): string {
  const { result, timing } = input;
  const takeovers = [...input.faults, 'all'].map((fault) => {
    const cycles = result.cycles.filter((c) => fault === 'all' || c.fault === fault);
    const times = cycles.map((c) => c.takeoverMs);
    const max = times.length > 0 ? Math.max(...times) : Number.NaN;
    return [
      fault,
      String(times.length),
      String(cycles.filter((c) => c.to === c.from).length),
      seconds(percentile(times, 50)),
      seconds(percentile(times, 99)),
      seconds(max),
    ];
  });
  const { sampler } = result;
  return [
    `Run of ${input.startedAt.toISOString().slice(0, 16)}Z: \`npm run chaos -- ${input.command}\` (${result.cycles.length} cycles), ` +
      `${input.sidecars} sidecars on one shared data directory, lease TTL ${timing.ttlMs / 1000} s ` +
      `(renew every ${timing.renewIntervalMs / 1000} s, self-fence ${timing.selfFenceMarginMs / 1000} s before expiry, ` +
      `expiry margin ${timing.clockSkewMs / 1000} s, standby poll ${timing.standbyPollMs / 1000} s), ${input.machine}.`,
    '',
    markdownTable(
      ['invariant', 'measured'],
      [
        [
          'samples with two PostgreSQL servers on the data directory',
          `**${sampler.twoServerSamples}** of ${sampler.samples} (every 20 ms; longest gap ${Math.round(sampler.maxGapMs)} ms)`,
        ],
        [
          'acknowledged commits missing after a takeover',
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
      ],
    ),
    '',
    markdownTable(
      ['fault on the holder', 'cycles', 'same holder', 'takeover p50', 'takeover p99', 'max'],
      takeovers,
    ),
    '',
    'Takeover: fault injected (clock-jump: the crash after the 2·T in which the stepped clocks must change ' +
      'nothing) → a new generation of the lease answers queries and the route points at it. Same holder: the ' +
      'new generation is the restarted sidecar of the old holder (its precedence), not a peer.',
  ].join('\n');
}

/** Replaces the text between the chaos markers, appending the markers if the file has none. */
export function replaceBetweenMarkers(text: string, content: string): string {
  const start = text.indexOf(CHAOS_START);
  const end = text.indexOf(CHAOS_END);
  const block = `${CHAOS_START}\n${content}\n${CHAOS_END}`;
  if (start < 0 || end < start) return `${text.trimEnd()}\n\n## Database tier under faults\n\n${block}\n`;
  return `${text.slice(0, start)}${block}${text.slice(end + CHAOS_END.length)}`;
}
