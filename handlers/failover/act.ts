import { CreateRouteCommand, type EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import type { FailoverConfig } from './config';
import type { Deadline } from './deadline';
import type { RouteAction } from './decide';
import {
  AwsConfigurationError,
  AwsTransientError,
  callAws,
  DeadlineReachedError,
  RouteVerificationError,
} from './errors';
import { describeRouteTables } from './observe';

interface ActDeps {
  ec2: EC2Client;
  config: FailoverConfig;
  deadline: Deadline;
  dryRun: boolean;
  sleep: (ms: number) => Promise<void>;
}

type ActionStatus = 'applied' | 'dry-run' | 'skipped-deadline' | 'failed-transient' | 'failed-configuration';

export interface ActionResult {
  action: RouteAction;
  status: ActionStatus;
  /** Set when the action failed: the AWS error code. */
  error?: string;
  /** Set when the action failed: the named error, rethrown by the run once every table has been tried. */
  failure?: AwsConfigurationError | AwsTransientError;
}

function send(ec2: EC2Client, action: RouteAction): Promise<unknown> {
  const input = {
    RouteTableId: action.routeTableId,
    DestinationCidrBlock: action.destinationCidrBlock,
    InstanceId: action.instanceId,
  };
  return action.kind === 'create-route'
    ? callAws('CreateRoute', () => ec2.send(new CreateRouteCommand(input)))
    : callAws('ReplaceRoute', () => ec2.send(new ReplaceRouteCommand(input)));
}

/**
 * Applies the decided route changes one by one. A failure on one route table does not stop the others: a
 * transient one is retried by the next run, a configuration one (e.g. AccessDenied) is reported by the run.
 * Near the deadline the remaining actions are skipped, never started.
 */
export async function act(deps: ActDeps, actions: RouteAction[]): Promise<ActionResult[]> {
  const results: ActionResult[] = [];
  for (const action of actions) {
    if (deps.dryRun) {
      results.push({ action, status: 'dry-run' });
      continue;
    }
    try {
      deps.deadline.ensureTimeFor(action.kind);
      await send(deps.ec2, action);
      results.push({ action, status: 'applied' });
    } catch (error) {
      if (error instanceof DeadlineReachedError) results.push({ action, status: 'skipped-deadline' });
      else if (error instanceof AwsTransientError) {
        results.push({ action, status: 'failed-transient', error: error.code, failure: error });
      } else if (error instanceof AwsConfigurationError) {
        results.push({ action, status: 'failed-configuration', error: error.code, failure: error });
      } else throw error;
    }
  }
  return results;
}

// EC2's API is eventually consistent: a route just replaced may read as the old one for a moment.
const VERIFY_ATTEMPTS = 4;
const VERIFY_INTERVAL_MS = 500;

/**
 * The post-condition: every applied action's route table now routes the virtual IP to the chosen instance and
 * the route is active. Re-reads until it holds (briefly) and throws RouteVerificationError if it does not.
 */
export async function verify(deps: ActDeps, applied: RouteAction[]): Promise<void> {
  if (applied.length === 0) return;
  let pending = applied;
  for (let attempt = 1; ; attempt++) {
    const tables = await describeRouteTables(
      deps,
      pending.map((action) => action.routeTableId),
    );
    pending = pending.filter((action) => {
      const route = tables.find((table) => table.routeTableId === action.routeTableId)?.route;
      return !(route?.state === 'active' && route.instanceId === action.instanceId);
    });
    if (pending.length === 0) return;
    if (attempt >= VERIFY_ATTEMPTS) break;
    await deps.sleep(VERIFY_INTERVAL_MS);
  }
  throw new RouteVerificationError(
    `route not as expected after the change: ${pending
      .map(
        (action) =>
          `${action.routeTableId} should route ${action.destinationCidrBlock} via ${action.instanceId}`,
      )
      .join('; ')}`,
  );
}
