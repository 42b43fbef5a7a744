import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ObservedRouteTable,
  VIP_ROUTE_VERIFY_WAITS_MS,
  verifyVipRoutes,
} from '../../../shared/vip-routes';

const table = (routeTableId: string, instanceId: string, state: 'active' | 'blackhole' = 'active') =>
  ({
    routeTableId,
    tags: {},
    route: { state, instanceId, otherTarget: undefined },
  }) satisfies ObservedRouteTable;

describe('verifyVipRoutes', () => {
  it('re-reads only the tables not yet right, until each routes actively to the expected instance', async () => {
    // Prepare: rtb-b shows the old target once, then the new one.
    const reads: string[][] = [];
    const answers = [[table('rtb-a', 'i-new'), table('rtb-b', 'i-old')], [table('rtb-b', 'i-new')]];
    const sleeps: number[] = [];
    // Act
    const pending = await verifyVipRoutes(
      async (ids) => {
        reads.push(ids);
        return answers[reads.length - 1] ?? [];
      },
      [
        { routeTableId: 'rtb-a', instanceId: 'i-new' },
        { routeTableId: 'rtb-b', instanceId: 'i-new' },
      ],
      async (ms) => {
        sleeps.push(ms);
      },
    );
    // Assess
    assert.deepEqual(pending, []);
    assert.deepEqual(reads, [['rtb-a', 'rtb-b'], ['rtb-b']]);
    assert.deepEqual(sleeps, [VIP_ROUTE_VERIFY_WAITS_MS[0]]);
  });

  it('gives up after its schedule, naming the route that is not in place (a blackhole does not count)', async () => {
    // Prepare
    const sleeps: number[] = [];
    // Act
    const pending = await verifyVipRoutes(
      async () => [table('rtb-a', 'i-new', 'blackhole')],
      [{ routeTableId: 'rtb-a', instanceId: 'i-new' }],
      async (ms) => {
        sleeps.push(ms);
      },
    );
    // Assess
    assert.deepEqual(pending, [{ routeTableId: 'rtb-a', instanceId: 'i-new' }]);
    assert.deepEqual(sleeps, [...VIP_ROUTE_VERIFY_WAITS_MS]);
  });
});
