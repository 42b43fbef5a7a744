import {
  CreateRouteCommand,
  DescribeInstancesCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { wrapAwsCall } from '../../../shared/aws-errors';
import { type ObservedRouteTable, readVipRoutes, verifyVipRoutes } from '../../../shared/vip-routes';
import type { SidecarLogger } from '../log-events';
import { PromoteError, type Promoter } from './promoter';
import { decideRoutes } from './route-decisions';

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

  /** The configured tables' VIP routes; a table EC2 did not return counts as having none. */
  async function observeRoutes(ids: string[] = routeTableIds): Promise<ObservedRouteTable[]> {
    const tables = await call('DescribeRouteTables', () =>
      readVipRoutes(ec2, { routeTableIds: ids }, destination),
    );
    return ids.map(
      (routeTableId) =>
        tables.find((table) => table.routeTableId === routeTableId) ?? {
          routeTableId,
          tags: {},
          route: undefined,
        },
    );
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
      const moved: string[] = [];
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
          moved.push(action.routeTableId);
          logger.warn(
            { event: 'route-moved', ...route, fencingToken, action: action.kind },
            'virtual IP route moved',
          );
        }
      }
      if (moved.length === 0) return;
      const wrong = await verifyVipRoutes(
        observeRoutes,
        moved.map((routeTableId) => ({ routeTableId, instanceId })),
        sleep,
      );
      if (wrong.length > 0) {
        throw new PromoteError(
          `route not pointing here after update: ${wrong.map((route) => route.routeTableId).join(', ')}`,
        );
      }
    },
  };
}
