// `npm run db -- status|switchover --stage NAME`: the database tier as the failover controller sees it, and a
// planned handover of the primary. See docs/OPERATIONS.md. The SDK's standard settings apply (AWS_PROFILE,
// AWS_REGION, AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_DYNAMODB for emulated endpoints).
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { type FailoverConfig, readFailoverConfig } from '../../handlers/failover/config';
import type { Deadline } from '../../handlers/failover/deadline';
import { decide } from '../../handlers/failover/decide';
import { AwsTransientError } from '../../handlers/failover/errors';
import { observe } from '../../handlers/failover/observe';
import { ConfigurationError } from '../../shared/configuration';
import { createDbCommandClients } from './aws-clients';
import { buildStatus, renderStatus } from './status-report';
import { switchover } from './switchover';

const USAGE = `usage:
  npm run db -- status --stage NAME [--json]
  npm run db -- switchover --stage NAME [--to INSTANCE_ID] [--yes]`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The stage's configuration as the deployed controller has it (resources/failover-function-instances.yml): the
 * lease table is named from the stage (LEASE_TABLE overrides it, for a local cluster); VIRTUAL_IP (default
 * 10.10.10.10) as the stage parameter `virtualIp`.
 */
function stageConfig(stage: string): FailoverConfig & { leaseTable: string } {
  const leaseTable = process.env.LEASE_TABLE?.trim() || `cloudy-${stage}-lease`;
  const config = readFailoverConfig({
    STAGE: stage,
    LEASE_TABLE: leaseTable,
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

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        stage: { type: 'string' },
        json: { type: 'boolean', default: false },
        to: { type: 'string' },
        yes: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(argv);
  const [command, ...extra] = positionals;
  if (extra.length > 0 || (command !== 'status' && command !== 'switchover')) throw new UsageError(USAGE);
  if (!values.stage) throw new UsageError(`--stage is required\n${USAGE}`);
  const config = stageConfig(values.stage);
  const { ec2, dynamodb, leaseWriter } = createDbCommandClients();
  const deps = { ec2, dynamodb, config, deadline: noDeadline, now: Date.now };
  try {
    if (command === 'status') {
      const observation = await observe(deps);
      const report = buildStatus(observation, decide(observation, config), config);
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
      return 0;
    }
    return await switchover(
      {
        ...deps,
        leaseWriter,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        print: (line) => process.stdout.write(`${line}\n`),
        confirm,
      },
      { to: values.to, yes: values.yes },
    );
  } finally {
    ec2.destroy();
    dynamodb.destroy();
    leaseWriter.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // The message only: the named errors (usage, configuration, AWS refusals, a lease that changed) say what
    // to do, and an SDK error's message names the problem (no region, no credentials).
    const message = error instanceof Error ? error.message : String(error);
    const retry = error instanceof AwsTransientError ? ' (transient: run the command again)' : '';
    process.stderr.write(`db: ${message}${retry}\n`);
    process.exitCode = error instanceof UsageError || error instanceof ConfigurationError ? 2 : 1;
  },
);
