import type { ObservedRouteTable } from '../../../shared/vip-routes';

/** What the promoter does to one table's VIP route. */
type VipRouteStep =
  | { kind: 'in-sync'; routeTableId: string }
  | { kind: 'replace'; routeTableId: string }
  | { kind: 'create'; routeTableId: string };

/** Per route table: nothing when the route already targets us, replace when it targets anything else, else create. */
export function decideRoutes(
  observed: readonly Pick<ObservedRouteTable, 'routeTableId' | 'route'>[],
  selfInstanceId: string,
): VipRouteStep[] {
  return observed.map(({ routeTableId, route }) => {
    if (route?.instanceId === selfInstanceId) return { kind: 'in-sync', routeTableId };
    return route ? { kind: 'replace', routeTableId } : { kind: 'create', routeTableId };
  });
}
