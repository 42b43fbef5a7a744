import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRoutes } from '../../../ec2/sidecar/promote/route-decisions';

describe('decideRoutes', () => {
  it('replaces, creates, or leaves each table alone', () => {
    // Act / Assess
    assert.deepEqual(
      decideRoutes(
        [
          { routeTableId: 'a', route: { state: 'active', instanceId: 'i-self', otherTarget: undefined } },
          { routeTableId: 'b', route: { state: 'active', instanceId: 'i-old', otherTarget: undefined } },
          { routeTableId: 'c', route: { state: 'active', instanceId: undefined, otherTarget: 'eni-1' } },
          { routeTableId: 'd', route: undefined },
        ],
        'i-self',
      ),
      [
        { kind: 'in-sync', routeTableId: 'a' },
        { kind: 'replace', routeTableId: 'b' },
        { kind: 'replace', routeTableId: 'c' },
        { kind: 'create', routeTableId: 'd' },
      ],
    );
  });
});
