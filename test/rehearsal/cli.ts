// `npm run rehearse -- …`: the web tier of a stage rehearsed on 127.0.0.1 in compressed time (see --help).
import type { ParseArgsOptionsConfig } from 'node:util';
import { DEFAULT_RESULTS_DIR } from '../../loadtest/src/run-scenario';
import {
  type CommandLine,
  type CommandSpec,
  exitWithUsage,
  numberOption,
  readCommandLine,
  UsageError,
} from '../../shared/command-line';
import type { Fault } from './rehearsal';
import { type RehearsalRequest, runRehearsal } from './run-rehearsal';

export const USAGE = `usage: npm run rehearse -- [--scenario scale-up|mixed] [options]

Rehearses the web tier of a stage on this machine, with the numbers of its packaged template (sls package):
real web instances (the production bundle, each in a CPU-limited cgroup) behind a load balancer that
health-checks and drains as the target group says, CloudWatch alarms on their CPU, Auto Scaling applying the
template's policies, the project's artillery scenario as the load and a real PostgreSQL behind. Time runs
compressed: every template time and scenario phase divided by --factor. Needs root (cgroups).

Options:
  --scenario NAME      scale-up (default: 21 min of /load at AWS time) or mixed (13 min of browsing and sign-ups)
  --stage NAME         the stage to package (default dev)
  --param NAME=VALUE   a stage parameter for sls package, e.g. webScalingPolicy=cpu-target (repeatable)
  --factor N           time compression (default 10: a 60 s alarm period lasts 6 s)
  --vcpu-share X       host cores per vCPU of the instance type (default 0.25: a 2-vCPU t3.micro = 0.5 core);
                       the scenario's rates are multiplied by the same share (and --request-cost)
  --request-cost S     vCPU-seconds one scale-up /load request costs on the instance type (default 0.3,
                       docs/LOADTEST.md); the rehearsal measures the same request here and scales the
                       scenario's rates so that each instance is as busy as on AWS
  --kill AT            kill one instance at AT of AWS time (e.g. 5m, 330s)
  --roll AT            start a rolling replacement of the whole group at AT
  --tail AT            keep watching this long after the scenario ends (default 4m)
  --out DIR            where the JSON timeline and the HTML report go (default loadtest/results)
  --help               this text

Exit code 0 when the run completed (the verdicts are in the report and the printed summary), 1 on failure,
2 on a usage error.`;

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text);
  if (!match) throw new UsageError(`"${text}" is not a time: write e.g. 330s or 5m`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

const COMMAND = {
  name: 'rehearse',
  usage: USAGE,
  options: {
    scenario: { type: 'string' },
    stage: { type: 'string' },
    param: { type: 'string', multiple: true },
    factor: { type: 'string' },
    'vcpu-share': { type: 'string' },
    'request-cost': { type: 'string' },
    kill: { type: 'string' },
    roll: { type: 'string' },
    tail: { type: 'string' },
    out: { type: 'string' },
  },
} satisfies CommandSpec<ParseArgsOptionsConfig>;

/** What the command line decides; runRehearsal adds where to say things. */
type CliRequest = Omit<RehearsalRequest, 'say' | 'scenarioText'>;

/** Pure: the rehearsal a parsed command line asks for, or a UsageError. */
export function rehearsalRequest(values: CommandLine<typeof COMMAND.options>['values']): CliRequest {
  const scenario = values.scenario ?? 'scale-up';
  if (scenario !== 'scale-up' && scenario !== 'mixed') {
    throw new UsageError(`unknown scenario "${scenario}": scale-up or mixed`);
  }
  const params: Record<string, string> = {};
  for (const pair of values.param ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--param ${pair}: write NAME=VALUE`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const within = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    if (raw === undefined) return fallback;
    const value = numberOption(name, raw, min);
    if (value > max) throw new UsageError(`--${name} ${raw}: at most ${max}`);
    return value;
  };
  const faults: Fault[] = [];
  if (values.kill !== undefined) faults.push({ kind: 'kill', atAwsSeconds: parseDuration(values.kill) });
  if (values.roll !== undefined) faults.push({ kind: 'roll', atAwsSeconds: parseDuration(values.roll) });
  const stage = values.stage ?? 'dev';
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(stage))
    throw new UsageError(`stage "${stage}" is not a valid stage name`);
  return {
    scenario,
    stage,
    params,
    factor: within('factor', values.factor, 10, 1, 120),
    vcpuShare: within('vcpu-share', values['vcpu-share'], 0.25, 0.05, 1),
    referenceRequestSeconds: within('request-cost', values['request-cost'], 0.3, 0.01, 10),
    faults,
    tailAwsSeconds: values.tail === undefined ? 240 : parseDuration(values.tail),
    resultsDir: values.out ?? DEFAULT_RESULTS_DIR,
  };
}

async function main(): Promise<number> {
  const { values } = readCommandLine(COMMAND);
  let request: CliRequest;
  try {
    request = rehearsalRequest(values);
  } catch (error) {
    if (error instanceof UsageError) exitWithUsage(COMMAND, error);
    throw error;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // Ctrl-C reaches artillery and the instances (same process group); the rehearsal then ends and cleans up
  // (cgroups, PostgreSQL, scratch files) instead of this process dying first.
  process.on('SIGINT', () => say('interrupted: stopping the rehearsal'));
  const result = await runRehearsal({ ...request, say });
  const s = result.summary;
  say('');
  say(
    `policy ${s.policy}: ${s.requests} requests, p50 ${s.p50} ms, p99 ${s.p99} ms, codes ${JSON.stringify(s.codes)}`,
  );
  say(
    `failures (not 2xx, not the app's 503 shedding): ${s.failures}; during scale-in ${s.failuresDuringScaleIn}, during the rolling replacement ${s.failuresDuringRolling}`,
  );
  say(
    `high alarm at ${fmt(s.firstHighAlarmAt)}, scale-out at ${fmt(s.firstScaleOutAt)}, new instance healthy at ${fmt(s.newInstanceHealthyAt)}, back to min at ${fmt(s.backToMinAt)}`,
  );
  say(
    `capacity changes ${s.desiredChanges}, max desired ${s.maxDesired}, ${s.instanceMinutes} instance-minutes, ${s.surplusVcpuMinutes} vCPU-minutes above the t3 baseline`,
  );
  say(`timeline: ${result.timelineFile}\nreport:   ${result.reportFile}`);
  return 0;
}

function fmt(t: number | null): string {
  if (t === null) return 'never';
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`rehearse: ${message}\n`);
    process.exitCode = 1;
  }
}
