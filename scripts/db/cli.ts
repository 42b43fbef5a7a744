// `npm run db -- status|switchover --stage NAME`: the database tier as the failover controller sees it, and a
// planned handover of the primary. See docs/OPERATIONS.md. The SDK's standard settings apply (AWS_PROFILE,
// AWS_REGION, AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_DYNAMODB for emulated endpoints).
import { createInterface } from 'node:readline/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import { type FailoverConfig, readFailoverConfig } from '../../handlers/failover/config';
import type { Deadline } from '../../handlers/failover/deadline';
import { decide } from '../../handlers/failover/decide';
import { AwsTransientError } from '../../handlers/failover/errors';
import { observe } from '../../handlers/failover/observe';
import { AWS_OPTIONS, awsOptionsUsage, resolveAwsSession } from '../../shared/command-aws';
import { type CommandSpec, exitWithUsage, readCommandLine, UsageError } from '../../shared/command-line';
import { ConfigurationError } from '../../shared/configuration';
import { leaseTableOfStage } from '../../shared/lease-table/location';
import { createDbCommandClients } from './aws-clients';
import { explainDbFailure } from './explain-failure';
import { buildStatus, renderStatus } from './status-report';
import { type SwitchoverDeps, switchover } from './switchover';

const STATUS = {
  name: 'db status',
  usage: `usage: npm run db -- status --stage NAME [--json] [--region REGION] [--profile NAME]

What the failover controller sees and would decide, on one screen: each database instance, the lease, each
route table's target, the dry-run decision, the last takeovers.

  --stage NAME   the deployed stage (stack cloudy-NAME)
  --json         the same report as JSON
${awsOptionsUsage()}`,
  options: { stage: { type: 'string' }, json: { type: 'boolean', default: false }, ...AWS_OPTIONS },
} as const satisfies CommandSpec<ParseArgsOptionsConfig>;

const SWITCHOVER = {
  name: 'db switchover',
  usage: `usage: npm run db -- switchover --stage NAME [--to INSTANCE_ID] [--yes] [--region REGION] [--profile NAME]

Hands the primary to a healthy standby on purpose: the primary stops PostgreSQL cleanly and releases the lease
to that standby, which takes over without fencing. Prints each step and the write outage.

  --stage NAME       the deployed stage (stack cloudy-NAME)
  --to INSTANCE_ID   the standby to hand over to (default: the healthiest standby)
  --yes              do not ask for confirmation (required when not run from a terminal)
${awsOptionsUsage()}`,
  options: {
    stage: { type: 'string' },
    to: { type: 'string' },
    yes: { type: 'boolean', default: false },
    ...AWS_OPTIONS,
  },
} as const satisfies CommandSpec<ParseArgsOptionsConfig>;

const DB = {
  name: 'db',
  usage: `usage: npm run db -- COMMAND --stage NAME [options]

The database tier's operator commands (docs/OPERATIONS.md):
  status       what the failover controller sees and would decide
  switchover   hand the primary to a healthy standby on purpose

npm run db -- COMMAND --help shows the options of COMMAND. Region and credentials: --region and --profile, else
the SDK's chain (AWS_REGION, AWS_PROFILE, ~/.aws), else serverless.yml's region; AWS_ENDPOINT_URL_EC2 and
AWS_ENDPOINT_URL_DYNAMODB point at emulated endpoints.`,
};

/**
 * The stage's configuration as the deployed controller has it (resources/failover-function-instances.yml): the
 * lease table is named from the stage (LEASE_TABLE overrides it, for a local cluster; LEASE_NAME names the item,
 * as for the sidecars); VIRTUAL_IP (default 10.10.10.10) as the stage parameter `virtualIp`.
 */
function stageConfig(stage: string): FailoverConfig & { leaseTable: string } {
  const leaseTable = process.env.LEASE_TABLE?.trim() || leaseTableOfStage(stage);
  const config = readFailoverConfig({
    STAGE: stage,
    LEASE_TABLE: leaseTable,
    LEASE_NAME: process.env.LEASE_NAME,
    VIRTUAL_IP: process.env.VIRTUAL_IP,
  });
  return { ...config, leaseTable };
}

// A command run by a person has no Lambda deadline; each request is bounded by the client's own timeouts.
const noDeadline: Deadline = { remainingMs: () => Number.POSITIVE_INFINITY, ensureTimeFor: () => {} };

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('not a terminal: pass --yes to switch over without asking');
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

function stageOf(spec: { name: string; usage: string }, stage: string | undefined): string {
  if (!stage) exitWithUsage(spec, new UsageError('--stage is required'));
  return stage;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command.startsWith('-')) {
    readCommandLine({ ...DB, options: {} }, argv);
    return exitWithUsage(DB, new UsageError('which command? status or switchover'));
  }
  if (command === 'status') {
    const { values } = readCommandLine(STATUS, rest);
    return runWithClients(stageOf(STATUS, values.stage), values, async (deps) => {
      const observation = await observe(deps);
      const report = buildStatus(observation, decide(observation, deps.config), deps.config);
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
      return 0;
    });
  }
  if (command === 'switchover') {
    const { values } = readCommandLine(SWITCHOVER, rest);
    return runWithClients(stageOf(SWITCHOVER, values.stage), values, (deps) =>
      switchover(
        {
          ...deps,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          print: (line) => process.stdout.write(`${line}\n`),
          confirm,
        },
        { to: values.to, yes: values.yes },
      ),
    );
  }
  return exitWithUsage(DB, new UsageError(`unknown command '${command}'`));
}

async function runWithClients(
  stage: string,
  options: { region?: string | undefined; profile?: string | undefined },
  run: (deps: Omit<SwitchoverDeps, 'sleep' | 'print' | 'confirm'>) => Promise<number>,
): Promise<number> {
  const config = stageConfig(stage);
  const session = await resolveAwsSession(options);
  const { ec2, dynamodb, leaseWriter } = createDbCommandClients(session);
  try {
    return await run({ ec2, dynamodb, leaseWriter, config, deadline: noDeadline, now: Date.now });
  } catch (error) {
    const explained = explainDbFailure(error, session, stage, config.leaseTable);
    throw explained ? new SessionError(explained, { cause: error }) : error;
  } finally {
    ec2.destroy();
    dynamodb.destroy();
    leaseWriter.destroy();
  }
}

/** A failure said in terms of the session (credentials, region, permissions) or of a stage missing there. */
class SessionError extends Error {
  override readonly name = 'SessionError';
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // The message only: the named errors (usage, configuration, the session, AWS refusals, a lease that
    // changed) say what to do.
    const message = error instanceof Error ? error.message : String(error);
    const retry = error instanceof AwsTransientError ? ' (transient: run the command again)' : '';
    process.stderr.write(`db: ${message}${retry}\n`);
    process.exitCode = error instanceof UsageError || error instanceof ConfigurationError ? 2 : 1;
  },
);
