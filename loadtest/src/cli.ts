// `npm run loadtest -- …`: runs a scenario against a stage's load balancer or any URL, keeps the result
// and its HTML report in loadtest/results/, and exits non-zero when a threshold was breached.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { clientSettings, explainAwsError, resolveAwsSession } from '../../shared/command-aws';
import { exitWithUsage } from '../../shared/command-line';
import { type CliCommand, LOADTEST, type LoadTarget, parseCliArgs, USAGE, UsageError } from './cli-args';
import { writeReport } from './report/write-report';
import { DEFAULT_RESULTS_DIR, runScenario } from './run-scenario';
import { findStageUrl } from './stage-url';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function resolveTarget(target: LoadTarget): Promise<{ url: string; stage?: string }> {
  if (target.kind === 'url') return { url: target.url };
  const session = await resolveAwsSession(target);
  // The one real AWS client of the load test (findStageUrl receives it, so tests pass a mocked one).
  let url: string;
  try {
    url = await findStageUrl(new CloudFormationClient(clientSettings(session)), target.stage, session.region);
  } catch (error) {
    const explained = explainAwsError(error, session, 'cloudformation:DescribeStacks');
    throw explained ? new Error(explained, { cause: error }) : error;
  }
  say(`stage ${target.stage}: ${url}`);
  return { url, stage: target.stage };
}

async function main(command: CliCommand): Promise<number> {
  if (command.command === 'help') {
    say(USAGE);
    return 0;
  }
  if (command.command === 'report') {
    say(`report: ${writeReport(command.resultFile)}`);
    return 0;
  }
  const { url, stage } = await resolveTarget(command.target);
  const run = await runScenario({
    scenario: command.scenario,
    target: url,
    ...(stage ? { stage } : {}),
    resultsDir: DEFAULT_RESULTS_DIR,
    log: process.stdout,
  });
  say(`\nresult: ${run.resultFile}\nreport: ${run.reportFile}`);
  say(run.exitCode === 0 ? 'thresholds held' : `thresholds breached (artillery exit code ${run.exitCode})`);
  return run.exitCode;
}

try {
  process.exitCode = await main(parseCliArgs(process.argv.slice(2)));
} catch (error) {
  if (error instanceof UsageError) exitWithUsage(LOADTEST, error);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`loadtest: ${message}\n`);
  process.exitCode = 1;
}
