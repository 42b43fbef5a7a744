// `npm run chaos -- --cycles N [--ttl-ms 10000] [--sidecars 3]`: the long fault-injection run. Writes its table
// into docs/BENCHMARKS.md between the chaos markers (nothing else in that file is touched).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos';
import { FAULTS, type Fault } from './faults';
import { renderChaosTable, replaceBetweenMarkers } from './report';
import { dataIntact } from './verify-data';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '50' },
    'ttl-ms': { type: 'string', default: '10000' },
    sidecars: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
    /** Comma-separated subset of the faults (default: all, in rotation). */
    faults: { type: 'string' },
    /** Start no cycle after this many minutes (default: no limit). */
    minutes: { type: 'string' },
  },
});
const cycles = Number(values.cycles);
const ttlMs = Number(values['ttl-ms']);
const sidecars = Number(values.sidecars);
const faults = values.faults ? (values.faults.split(',') as Fault[]) : FAULTS;
const unknownFault = faults.find((fault) => !FAULTS.includes(fault));
if (unknownFault) throw new Error(`unknown fault ${unknownFault}; the faults are ${FAULTS.join(', ')}`);
const out = (line: string) => process.stdout.write(`${line}\n`);

// The sidecar's defaults, derived from the TTL exactly as ec2/sidecar/config.ts derives them.
const timing = {
  ttlMs,
  renewIntervalMs: Math.floor(ttlMs / 5),
  selfFenceMarginMs: Math.floor(ttlMs * 0.3),
  clockSkewMs: 500,
  standbyPollMs: 500,
  restartDelayMs: 1000,
};
// Interrupted: exit through process.exit so the cluster's exit hook kills the sidecars it started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const startedAt = new Date();
const result = await runChaos({
  cycles,
  sidecars,
  timing,
  // Only stops a stuck run: a takeover through two step-downs (ec2-errors) on a busy machine takes a minute.
  livenessTimeoutMs: Math.max(120_000, ttlMs * 12),
  faults,
  ...(values.minutes ? { stopStartingAfterMs: Number(values.minutes) * 60_000 } : {}),
  keepLogs: true,
  progress: out,
});
const table = renderChaosTable({
  result,
  timing,
  sidecars,
  faults,
  startedAt,
  command: process.argv.slice(2).join(' '),
  machine: `${cpus().length} vCPU (${cpus()[0]?.model ?? 'unknown'}), shared with other jobs`,
});
out(table);
out(`sidecar logs: ${result.logDir}`);
if (!values['no-write']) {
  const file = 'docs/BENCHMARKS.md';
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  writeFileSync(file, replaceBetweenMarkers(text, table));
  out(`written to ${file}`);
}
const ok =
  !result.aborted &&
  result.sampler.twoServerSamples === 0 &&
  result.lost === 0 &&
  dataIntact(result.data) &&
  result.cycles.every((cycle) => !cycle.faultProblem);
process.exit(ok ? 0 : 1);
