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
}): Promoter {
  const { ec2, logger, instanceId, routeTableIds } = options;
  const destination = `${options.virtualIp}/32`;

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
      for (const action of decideRoutes(await observeRoutes(), instanceId)) {
        const route = {
          RouteTableId: action.routeTableId,
          DestinationCidrBlock: destination,
          InstanceId: instanceId,
        };
        if (action.kind === 'replace')
          await call('ReplaceRoute', () => ec2.send(new ReplaceRouteCommand(route)));
        if (action.kind === 'create')
          await call('CreateRoute', () => ec2.send(new CreateRouteCommand(route)));
        if (action.kind !== 'in-sync') {
          logger.warn(
            { event: 'route-moved', ...route, fencingToken, action: action.kind },
            'virtual IP route moved',
          );
        }
      }
      const wrong = decideRoutes(await observeRoutes(), instanceId).filter((a) => a.kind !== 'in-sync');
      if (wrong.length > 0) {
        throw new PromoteError(
          `route not pointing here after update: ${wrong.map((a) => a.routeTableId).join(', ')}`,
        );
      }
    },
  };
}
