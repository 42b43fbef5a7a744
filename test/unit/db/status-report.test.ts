import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../../handlers/failover/decide';
import type { ObservedLease } from '../../../handlers/failover/observation';
import { buildStatus, renderStatus } from '../../../scripts/db/status-report';
import { instance, lease, leaseConfig, NOW_MS, routeTo, table, world } from '../failover/world';

function statusWith(observedLease: ObservedLease) {
  const observation = world(
    [instance('i-a', 60), instance('i-b', 30)],
    [table('rtb-1', routeTo('i-a'))],
    observedLease,
  );
  return buildStatus(observation, decide(observation, leaseConfig), leaseConfig);
}

describe('buildStatus', () => {
  const rows: { name: string; lease: ObservedLease; expected: [string, string] }[] = [
    {
      name: 'holder whose last probe answered: answering',
      lease: lease('i-a', { postgresAnswering: true }),
      expected: ['answering', 'not running'],
    },
    {
      name: 'holder whose last probe failed: not answering',
      lease: lease('i-a', { postgresAnswering: false }),
      expected: ['not answering', 'not running'],
    },
    {
      name: 'holder primary, not yet probed: answering (it became primary once PostgreSQL answered)',
      lease: lease('i-a'),
      expected: ['answering', 'not running'],
    },
    {
      name: 'holder not yet primary nor probed: starting',
      lease: lease('i-a', { primarySinceMs: undefined }),
      expected: ['starting', 'not running'],
    },
    {
      name: 'holder whose lease expired: unknown (it may be gone)',
      lease: lease('i-a', { expiresAtMs: NOW_MS - 1 }),
      expected: ['unknown', 'not running'],
    },
    {
      name: 'lease released: nobody runs it',
      lease: lease('i-a', { expiresAtMs: 0, releasedAtMs: NOW_MS - 1 }),
      expected: ['not running', 'not running'],
    },
    {
      name: 'no lease item: unknown everywhere',
      lease: { kind: 'absent' },
      expected: ['unknown', 'unknown'],
    },
  ];
  for (const row of rows) {
    it(`PostgreSQL per instance, from the lease: ${row.name}`, () => {
      // Act
      const report = statusWith(row.lease);
      // Assess
      assert.deepEqual(
        report.instances.map((i) => i.postgres),
        row.expected,
      );
    });
  }
});

describe('renderStatus', () => {
  it('shows an expired lease, a standing switchover request and a release naming a standby', () => {
    // Prepare
    const expired = renderStatus(statusWith(lease('i-a', { expiresAtMs: NOW_MS - 2_500 })));
    const requested = renderStatus(
      statusWith(
        lease('i-a', {
          handover: { to: 'i-b', requestedAtMs: NOW_MS - 1_000, expiresAtMs: NOW_MS + 29_000 },
        }),
      ),
    );
    const handedOver = renderStatus(
      statusWith(
        lease('i-a', {
          expiresAtMs: 0,
          releasedAtMs: NOW_MS - 10,
          handedOverTo: 'i-b',
          primarySinceMs: undefined,
        }),
      ),
    );
    // Assess
    assert.match(expired, /holder i-a, fencing token 7, EXPIRED 2.50 s ago, primary since /);
    assert.match(requested, /switchover to i-b requested at 2026-01-01T11:59:59.000Z, void in 19.00 s/);
    assert.match(
      handedOver,
      /holder i-a, fencing token 7, released, not primary \(yet\)\n {2}handed over to i-b/,
    );
  });
});
