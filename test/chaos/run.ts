// `npm run chaos -- --cycles N`: the long fault-injection run on the production path (see --help). Adds its table
// to docs/BENCHMARKS.md between the chaos markers, above the earlier runs (nothing else in that file is touched).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { ParseArgsOptionsConfig } from 'node:util';
import { describeRuntime } from '../../scripts/runtime';
import {
  type CommandSpec,
  exitWithUsage,
  numberOption,
  readCommandLine,
  UsageError,
} from '../../shared/command-line';
import { runChaos } from './chaos';
import { AWS_EC2_TIMING, describeEc2Timing, scaledEc2Timing } from './ec2-timing';
import { FAULTS, type Fault } from './faults';
import { applyMutant, EQUIVALENT_MUTANTS, MUTANTS, type Mutant, rotationFor } from './mutants';
import { addRunBetweenMarkers, markdownTable, renderChaosTable } from './report';
import { dataIntact } from './verify-data';

const CHAOS = {
  name: 'chaos',
  usage: `usage: npm run chaos -- [options]

Faults rotate over the lease holder of a database tier run on its production path: instances in
production sidecars (the ec2-fencer and ec2-promoter) against an emulated EC2 API on 127.0.0.1, the
lease in dynalite behind a partition proxy per instance, the failover Lambda's handler in the loop, and a client
POSTing /users through the real web app and a VIP router that follows the emulated route table. The table goes
to docs/BENCHMARKS.md.

The emulated EC2 timings (test/chaos/ec2-timing.ts, each with its source), at --ec2-scale 1:
  ${describeEc2Timing(AWS_EC2_TIMING)}

Options:
  --cycles N                 faults injected, in rotation (default 50)
  --faults a,b               a subset of: ${FAULTS.join(', ')}
  --minutes M                start no cycle after M minutes (the run then ends and writes its table)
  --ttl-ms T                 lease TTL (default 10000, the sidecar's default); renewal etc. derived as on AWS
  --sidecars N               database instances (default 3)
  --promotion-deadline-ms D  PROMOTION_DEADLINE_MS (default 60000, the sidecar's default)
  --failover-schedule-ms S   the failover Lambda runs this often (default 5000: EventBridge's EC2 state-change
                             rule invokes it within seconds of a stop; the schedule alone is 1 minute)
  --no-skip-os-shutdown      fence with Force but without SkipOsShutdown (to measure the difference)
  --ec2-scale F              multiply the emulated EC2 timings by F (the short run in npm test uses 0.2)
  --no-write                 print the table, leave docs/BENCHMARKS.md alone

Mutation run (the proof must be able to fail):
  --mutants                  apply each deliberate defect of test/chaos/mutants.ts, one at a time, to a copy of
                             the sidecar bundle, run the short configuration (3 instances, T = 5 s, EC2 timings
                             at 0.2) until the first broken invariant, and print "N of N killed" with the
                             invariant each one broke; exit 1 if any survives
  --mutant NAME              only this one: ${MUTANTS.map((m) => m.name).join(', ')}; or one shown
                             equivalent (docs/DATABASE-TIER.md): ${EQUIVALENT_MUTANTS.map((m) => m.name).join(', ')}`,
  options: {
    cycles: { type: 'string', default: '50' },
    'ttl-ms': { type: 'string', default: '10000' },
    sidecars: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
    'no-skip-os-shutdown': { type: 'boolean', default: false },
    'promotion-deadline-ms': { type: 'string', default: '60000' },
    'failover-schedule-ms': { type: 'string', default: '5000' },
    'ec2-scale': { type: 'string', default: '1' },
    faults: { type: 'string' },
    minutes: { type: 'string' },
    mutants: { type: 'boolean', default: false },
    mutant: { type: 'string' },
  },
} as const satisfies CommandSpec<ParseArgsOptionsConfig>;
const { values } = readCommandLine(CHAOS);
const out = (line: string) => process.stdout.write(`${line}\n`);
const number = (name: keyof typeof values, min: number) => {
  try {
    return numberOption(name, values[name], min);
  } catch (error) {
    return exitWithUsage(CHAOS, error as UsageError);
  }
};
// Interrupted: exit through process.exit so the cluster's exit hook kills the instances it started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
if (values.mutants || values.mutant) {
  const chosen = values.mutant
    ? [...MUTANTS, ...EQUIVALENT_MUTANTS].filter((m) => m.name === values.mutant)
    : MUTANTS;
  if (chosen.length === 0)
    exitWithUsage(
      CHAOS,
      new UsageError(`unknown mutant ${values.mutant}: ${MUTANTS.map((m) => m.name).join(', ')}`),
    );
  process.exit((await runMutants(chosen)) ? 0 : 1);
}
const cycles = number('cycles', 1);
const ttlMs = number('ttl-ms', 1);
const sidecars = number('sidecars', 2);
const skipOsShutdown = !values['no-skip-os-shutdown'];
const promotionDeadlineMs = number('promotion-deadline-ms', 1);
const failoverScheduleMs = number('failover-schedule-ms', 1);
const ec2 = scaledEc2Timing(number('ec2-scale', 0));
const minutes = values.minutes === undefined ? undefined : number('minutes', 0);
const faults = values.faults ? (values.faults.split(',') as Fault[]) : FAULTS;
const unknownFault = faults.find((fault) => !FAULTS.includes(fault));
if (unknownFault)
  exitWithUsage(CHAOS, new UsageError(`unknown fault ${unknownFault}; the faults are ${FAULTS.join(', ')}`));

// The sidecar's defaults, derived from the TTL exactly as ec2/sidecar/config.ts derives them.
const timing = {
  ttlMs,
  renewIntervalMs: Math.floor(ttlMs / 5),
  selfFenceMarginMs: Math.floor(ttlMs * 0.3),
  clockSkewMs: 500,
  standbyPollMs: 500,
};
out(describeRuntime());
out(describeEc2Timing(ec2));
out(`fence with SkipOsShutdown: ${skipOsShutdown}; promotion deadline ${promotionDeadlineMs} ms`);
const startedAt = new Date();
const loadBefore = loadavg()[0] ?? 0;
const result = await runChaos({
  cycles,
  sidecars,
  timing,
  ec2,
  skipOsShutdown,
  promotionDeadlineMs,
  failoverScheduleMs,
  writeIntervalMs: 50,
  // Only stops a stuck run: ec2-errors goes through a promotion deadline and a second takeover, and without
  // SkipOsShutdown a crashed holder's stop waits out EC2's OS-shutdown timeout.
  livenessTimeoutMs: Math.max(
    180_000,
    ttlMs * 12,
    promotionDeadlineMs * 3,
    skipOsShutdown ? 0 : ec2.osShutdownTimeoutMs + 120_000,
  ),
  faults,
  ...(minutes !== undefined ? { stopStartingAfterMs: minutes * 60_000 } : {}),
  keepLogs: true,
  progress: (line) => out(`${new Date().toISOString().slice(11, 19)} ${line}`),
});
const load = `load average ${loadBefore.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`;
const table = renderChaosTable({
  result,
  timing,
  ec2: describeEc2Timing(ec2),
  skipOsShutdown,
  promotionDeadlineMs,
  sidecars,
  faults,
  startedAt,
  command: process.argv.slice(2).join(' '),
  machine: `${cpus().length} vCPU (${cpus()[0]?.model ?? 'unknown'}), ${describeRuntime()}, shared with other jobs, ${load}`,
});
out(table);
out(`logs: ${result.logDir}`);
// The raw result beside the logs, so that the tables can be rendered again from it.
writeFileSync(`${result.logDir}/../result.json`, JSON.stringify(result, null, 1));
if (!values['no-write']) {
  const file = 'docs/BENCHMARKS.md';
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  writeFileSync(file, addRunBetweenMarkers(text, table));
  out(`written to ${file}`);
}
const ok =
  !result.aborted &&
  result.sampler.twoServerSamples === 0 &&
  result.lost === 0 &&
  dataIntact(result.data) &&
  result.cycles.every((cycle) => !cycle.faultProblem);
process.exit(ok ? 0 : 1);

/** Each mutant against the short configuration; true when every one was killed. */
async function runMutants(mutants: readonly Mutant[]): Promise<boolean> {
  const ttl = 5_000; // as the short run in npm test (fault-suite.test.ts)
  const shortTiming = {
    ttlMs: ttl,
    renewIntervalMs: ttl / 5,
    selfFenceMarginMs: ttl * 0.3,
    clockSkewMs: 100,
    standbyPollMs: 250,
  };
  const rows: string[][] = [];
  let killed = 0;
  for (const mutant of mutants) {
    const started = performance.now();
    out(`mutant ${mutant.name}: ${mutant.defect}`);
    let killedBy: string | undefined;
    let harnessFailure: string | undefined;
    try {
      const result = await runChaos({
        cycles: FAULTS.length,
        sidecars: 3,
        timing: shortTiming,
        // The stop keeps its AWS duration: it is the window in which a fenced instance still runs, and scaled
        // below the fencer's 2 s Describe poll it would close before the fencer could look.
        ec2: { ...scaledEc2Timing(0.2), stopDurationMs: AWS_EC2_TIMING.stopDurationMs },
        skipOsShutdown: true,
        promotionDeadlineMs: 5_000,
        failoverScheduleMs: 2_000,
        writeIntervalMs: 100,
        livenessTimeoutMs: 120_000,
        faults: rotationFor(mutant, FAULTS),
        stopAtFirstFailure: true,
        keepLogs: true,
        mutateSidecar: (bundle) => applyMutant(bundle, mutant),
        progress: (line) => out(`  ${new Date().toISOString().slice(11, 19)} ${line}`),
      });
      killedBy = result.firstFailure;
      out(`  logs: ${result.logDir}`);
    } catch (error) {
      // The harness itself failed (no first primary, a tool missing): nothing was decided about the mutant.
      harnessFailure = (error as Error).message;
    }
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    const verdict = harnessFailure
      ? `**not decided** (the run failed: ${harnessFailure})`
      : (killedBy ?? '**survived**');
    out(
      `  ${harnessFailure ? 'NOT DECIDED' : killedBy ? `KILLED: ${killedBy}` : 'SURVIVED'} (${minutes} min)`,
    );
    rows.push([mutant.name, mutant.defect, verdict, `${minutes} min`]);
    if (killedBy && !harnessFailure) killed += 1;
  }
  out('');
  out(`${killed} of ${mutants.length} killed`);
  out(markdownTable(['mutant', 'defect', 'first failed invariant', 'run'], rows));
  return killed === mutants.length;
}
