import {
  type EC2Client,
  type Filter,
  paginateDescribeRouteTables,
  type RouteTable,
  type Tag,
} from '@aws-sdk/client-ec2';

/**
 * The virtual IP's route (`<VIRTUAL_IP>/32` → the primary instance) in the VPC's route tables: one reader and one
 * verifier, used by the failover controller (handlers/failover) and the primary's promoter (ec2/sidecar/promote).
 * SDK errors pass through unchanged: each caller wraps them in its own named errors.
 */

/** EC2's route state through one total function: the controller never acts on `unknown`. */
export type RouteState = 'active' | 'blackhole' | 'unknown';

export function toRouteState(raw: string | undefined): RouteState {
  return raw === 'active' || raw === 'blackhole' ? raw : 'unknown';
}

export interface ObservedRoute {
  state: RouteState;
  /** Set when the route targets an instance. */
  instanceId: string | undefined;
  /** What the route targets when it is not an instance (gateway, ENI, NAT gateway…), for the log. */
  otherTarget: string | undefined;
}

export interface ObservedRouteTable {
  routeTableId: string;
  tags: Record<string, string>;
  /** The route whose destination is the virtual IP's /32, if the table has one. */
  route: ObservedRoute | undefined;
}

export function tagsOf(tags: Tag[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { Key, Value } of tags ?? []) if (Key !== undefined) map[Key] = Value ?? '';
  return map;
}

function observedTable(table: RouteTable, destinationCidrBlock: string): ObservedRouteTable {
  const route = table.Routes?.find((candidate) => candidate.DestinationCidrBlock === destinationCidrBlock);
  return {
    routeTableId: table.RouteTableId ?? '',
    tags: tagsOf(table.Tags),
    route: route && {
      state: toRouteState(route.State),
      instanceId: route.InstanceId,
      otherTarget: route.InstanceId
        ? undefined
        : (route.NetworkInterfaceId ??
          route.GatewayId ??
          route.NatGatewayId ??
          route.TransitGatewayId ??
          route.VpcPeeringConnectionId ??
          'an unknown target'),
    },
  };
}

/**
 * Reads the route tables (by id, or by filters) and each one's route to `destinationCidrBlock`. `beforePage` runs
 * before each page is requested (the controller checks its Lambda deadline there).
 */
export async function readVipRoutes(
  ec2: EC2Client,
  tables: { routeTableIds: string[] } | { filters: Filter[] },
  destinationCidrBlock: string,
  options: { beforePage?: () => void } = {},
): Promise<ObservedRouteTable[]> {
  const input =
    'routeTableIds' in tables ? { RouteTableIds: tables.routeTableIds } : { Filters: tables.filters };
  const observed: ObservedRouteTable[] = [];
  options.beforePage?.();
  for await (const page of paginateDescribeRouteTables({ client: ec2 }, input)) {
    for (const table of page.RouteTables ?? []) {
      if (table.RouteTableId) observed.push(observedTable(table, destinationCidrBlock));
    }
    options.beforePage?.();
  }
  return observed;
}

/** A route as a change meant it: in this table, active, to this instance. */
export interface ExpectedVipRoute {
  routeTableId: string;
  instanceId: string;
}

/**
 * EC2's Describe* are eventually consistent ("Eventual consistency in the Amazon EC2 API": retry starting with a
 * couple of seconds): a read right after ReplaceRoute may still show the old target. The check reads at once,
 * then after each of these waits (about 10 s in all) before it calls the change failed.
 */
export const VIP_ROUTE_VERIFY_WAITS_MS: readonly number[] = [500, 750, 1_125, 1_700, 2_500, 3_800];

/**
 * The post-condition of a route change: re-reads the changed tables until every one routes the virtual IP,
 * actively, to the expected instance. Returns the routes still not in place when the schedule ran out (empty:
 * verified). It only reads; it never writes again.
 */
export async function verifyVipRoutes(
  read: (routeTableIds: string[]) => Promise<ObservedRouteTable[]>,
  expected: readonly ExpectedVipRoute[],
  sleep: (ms: number) => Promise<void>,
): Promise<ExpectedVipRoute[]> {
  let pending = [...expected];
  for (let attempt = 0; pending.length > 0; attempt++) {
    const tables = await read(pending.map((route) => route.routeTableId));
    pending = pending.filter((wanted) => {
      const route = tables.find((table) => table.routeTableId === wanted.routeTableId)?.route;
      return !(route?.state === 'active' && route.instanceId === wanted.instanceId);
    });
    const wait = VIP_ROUTE_VERIFY_WAITS_MS[attempt];
    if (pending.length === 0 || wait === undefined) break;
    await sleep(wait);
  }
  return pending;
}
