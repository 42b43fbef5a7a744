/** One route table's current route for the virtual IP, as EC2 describes it to the promoter. */
export interface VipRoute {
  routeTableId: string;
  /** Target instance of the VIP/32 route, undefined when the route is absent or points elsewhere (ENI, blackhole). */
  instanceId: string | undefined;
  present: boolean;
}

/** What the promoter does to one table's VIP route. */
type VipRouteStep =
  | { kind: 'in-sync'; routeTableId: string }
  | { kind: 'replace'; routeTableId: string }
  | { kind: 'create'; routeTableId: string };

/** Per route table: nothing when the route already targets us, replace when it targets anything else, else create. */
export function decideRoutes(observed: VipRoute[], selfInstanceId: string): VipRouteStep[] {
  return observed.map(({ routeTableId, instanceId, present }) => {
    if (present && instanceId === selfInstanceId) return { kind: 'in-sync', routeTableId };
    return present ? { kind: 'replace', routeTableId } : { kind: 'create', routeTableId };
  });
}
