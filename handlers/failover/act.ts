import { CreateRouteCommand, type EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { verifyVipRoutes } from '../../shared/vip-routes';
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

/**
 * The post-condition: every applied action's route table now routes the virtual IP, actively, to the chosen
 * instance. Re-reads on verifyVipRoutes' schedule and throws RouteVerificationError if it does not hold.
 */
export async function verify(deps: ActDeps, applied: RouteAction[]): Promise<void> {
  if (applied.length === 0) return;
  const pending = await verifyVipRoutes(
    (routeTableIds) => describeRouteTables(deps, routeTableIds),
    applied.map(({ routeTableId, instanceId }) => ({ routeTableId, instanceId })),
    deps.sleep,
  );
  if (pending.length === 0) return;
  throw new RouteVerificationError(
    `route not as expected after the change: ${pending
      .map(
        (route) =>
          `${route.routeTableId} should route ${deps.config.destinationCidrBlock} via ${route.instanceId}`,
      )
      .join('; ')}`,
  );
}
