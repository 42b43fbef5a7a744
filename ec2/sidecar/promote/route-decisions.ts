/** One route table's current route for the virtual IP, as EC2 describes it. */
export interface ObservedRoute {
  routeTableId: string;
  /** Target instance of the VIP/32 route, undefined when the route is absent or points elsewhere (ENI, blackhole). */
  instanceId: string | undefined;
  present: boolean;
}

export type RouteAction =
  | { kind: 'in-sync'; routeTableId: string }
  | { kind: 'replace'; routeTableId: string }
  | { kind: 'create'; routeTableId: string };

/** Per route table: nothing when the route already targets us, replace when it targets anything else, else create. */
export function decideRoutes(observed: ObservedRoute[], selfInstanceId: string): RouteAction[] {
  return observed.map(({ routeTableId, instanceId, present }) => {
    if (present && instanceId === selfInstanceId) return { kind: 'in-sync', routeTableId };
    return present ? { kind: 'replace', routeTableId } : { kind: 'create', routeTableId };
  });
}
