import { AWS_OPTIONS, awsOptionsUsage } from '../../shared/command-aws';
import { parseCommandLine, UsageError } from '../../shared/command-line';
import { isScenarioName, SCENARIOS, type ScenarioName } from './scenarios';

/** Where the load goes: a deployed stage (its ALB, found from the stack outputs) or any URL. */
export type LoadTarget =
  | { kind: 'stage'; stage: string; region?: string; profile?: string }
  | { kind: 'url'; url: string };

export type CliCommand =
  | { command: 'run'; scenario: ScenarioName; target: LoadTarget }
  | { command: 'report'; resultFile: string }
  | { command: 'help' };

export const USAGE = `usage:
  npm run loadtest -- --stage NAME [--region REGION] [--profile NAME] [--scenario ${SCENARIOS.join('|')}]
  npm run loadtest -- --target URL [--scenario ${SCENARIOS.join('|')}]
  npm run loadtest -- --report RESULT.json

  --stage      a deployed stage: the load goes to the LoadBalancerUrl output of stack cloudy-NAME
  --target     any http(s) URL instead, e.g. http://127.0.0.1:8080 for \`npm start\`
  --scenario   smoke (default: a few seconds, every endpoint), mixed (13 min of realistic traffic),
               scale-up (21 min of CPU load: the auto-scaling demonstration)
  --report     render the HTML report of an earlier result again
${awsOptionsUsage()}

Results go to loadtest/results/: the JSON result and its HTML report.`;

export { UsageError } from '../../shared/command-line';

// A stage becomes part of the stack name cloudy-<stage>: CloudFormation allows letters, digits and hyphens.
const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/;
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-[0-9]$/;

export function parseCliArgs(argv: readonly string[]): CliCommand {
  const outcome = parseCommandLine(LOADTEST, argv);
  if (outcome.help) return { command: 'help' };
  const { values } = outcome;

  const given = [values.stage, values.target, values.report].filter((value) => value !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --stage, --target or --report');

  if (values.report !== undefined) {
    if (values.scenario !== undefined || values.region !== undefined || values.profile !== undefined) {
      throw new UsageError(
        '--report takes no --scenario, --region or --profile: they are read from the result',
      );
    }
    return { command: 'report', resultFile: values.report };
  }

  const scenario = values.scenario ?? 'smoke';
  if (!isScenarioName(scenario)) {
    throw new UsageError(`unknown scenario "${scenario}": choose one of ${SCENARIOS.join(', ')}`);
  }
  if (values.stage !== undefined) {
    if (!STAGE_NAME.test(values.stage)) {
      throw new UsageError(`stage "${values.stage}" is not a valid stage name (letters, digits, hyphens)`);
    }
    const { region, profile } = values;
    if (region !== undefined && !REGION_NAME.test(region)) {
      throw new UsageError(`region "${region}" is not an AWS region name`);
    }
    const session = { ...(region ? { region } : {}), ...(profile ? { profile } : {}) };
    return { command: 'run', scenario, target: { kind: 'stage', stage: values.stage, ...session } };
  }
  if (values.region !== undefined || values.profile !== undefined) {
    throw new UsageError('--region and --profile go with --stage, not with --target');
  }
  return { command: 'run', scenario, target: { kind: 'url', url: parseTargetUrl(values.target ?? '') } };
}

/** An http(s) origin (optionally with a path prefix), without a trailing slash: artillery appends `/users`. */
export function parseTargetUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`target "${raw}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`target "${raw}" must be an http:// or https:// URL`);
  }
  if (url.search || url.hash) throw new UsageError(`target "${raw}" must not have a query or fragment`);
  return url.href.replace(/\/+$/, '');
}

export const LOADTEST = {
  name: 'loadtest',
  usage: USAGE,
  options: {
    stage: { type: 'string' },
    ...AWS_OPTIONS,
    target: { type: 'string' },
    scenario: { type: 'string' },
    report: { type: 'string' },
  },
} as const;
