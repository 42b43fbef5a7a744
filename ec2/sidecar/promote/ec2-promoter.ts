import {
  CreateRouteCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { wrapAwsCall } from '../../../shared/aws-errors';
import type { SidecarLogger } from '../log-events';
import { PromoteError, type Promoter } from './promoter';
import { decideRoutes, type VipRoute } from './route-decisions';

// EC2's Describe* are eventually consistent ("Eventual consistency in the Amazon EC2 API": retry starting with a
// couple of seconds): a read right after ReplaceRoute may still show the old target. The check after the change
// re-reads on this schedule (up to about 10 s) before it calls the change failed, and never writes again.
const VERIFY_ATTEMPTS = 6;
const VERIFY_FIRST_WAIT_MS = 500;

/**
 * Observe → decide → act → verify for the virtual IP: source/destination check off on this instance (it
 * receives traffic for an address outside the VPC range), then the VIP/32 route of every route table to it.
 */
export function ec2Promoter(options: {
  ec2: EC2Client;
  logger: SidecarLogger;
  instanceId: string;
  virtualIp: string;
  routeTableIds: string[];
  /** Waits between the reads of the check after a change (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
}): Promoter {
  const { ec2, logger, instanceId, routeTableIds } = options;
  const destination = `${options.virtualIp}/32`;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  function call<T>(what: string, send: () => Promise<T>): Promise<T> {
    return wrapAwsCall(send, ({ code, cause }) => new PromoteError(`${what} failed (${code})`, { cause }));
  }

  async function observeRoutes(): Promise<VipRoute[]> {
    const result = await call('DescribeRouteTables', () =>
      ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: routeTableIds })),
    );
    return routeTableIds.map((routeTableId) => {
      const table = result.RouteTables?.find((t) => t.RouteTableId === routeTableId);
      const route = table?.Routes?.find((r) => r.DestinationCidrBlock === destination);
      return { routeTableId, present: route !== undefined, instanceId: route?.InstanceId };
    });
  }

  return {
    async promote({ fencingToken }) {
      const described = await call('DescribeInstances', () =>
        ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
      );
      if (described.Reservations?.[0]?.Instances?.[0]?.SourceDestCheck !== false) {
        await call('ModifyInstanceAttribute', () =>
          ec2.send(
            new ModifyInstanceAttributeCommand({ InstanceId: instanceId, SourceDestCheck: { Value: false } }),
          ),
        );
      }
      let changed = false;
      for (const action of decideRoutes(await observeRoutes(), instanceId)) {
        const route = {
          RouteTableId: action.routeTableId,
          DestinationCidrBlock: destination,
          InstanceId: instanceId,
        };
        if (action.kind === 'replace')
          await call('ReplaceRoute', () => ec2.send(new ReplaceRouteCommand(route)));
        if (action.kind === 'create') {
          // A stale read can call an existing route missing: then it is replaced instead.
          await call('CreateRoute', () =>
            ec2.send(new CreateRouteCommand(route)).catch((error: unknown) => {
              if ((error as { name?: string }).name !== 'RouteAlreadyExists') throw error;
              return ec2.send(new ReplaceRouteCommand(route));
            }),
          );
        }
        if (action.kind !== 'in-sync') {
          changed = true;
          logger.warn(
            { event: 'route-moved', ...route, fencingToken, action: action.kind },
            'virtual IP route moved',
          );
        }
      }
      if (!changed) return;
      let wrong: string[] = [];
      for (
        let attempt = 1, waitMs = VERIFY_FIRST_WAIT_MS;
        attempt <= VERIFY_ATTEMPTS;
        attempt++, waitMs *= 1.5
      ) {
        await sleep(waitMs);
        wrong = decideRoutes(await observeRoutes(), instanceId)
          .filter((a) => a.kind !== 'in-sync')
          .map((a) => a.routeTableId);
        if (wrong.length === 0) return;
      }
      throw new PromoteError(`route not pointing here after update: ${wrong.join(', ')}`);
    },
  };
}
