import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertLeaseTiming, leaseTimingProblems } from '../../../ec2/sidecar/lease/lease-decisions';
import {
  type LeasePhase,
  type LeaseRecord,
  leasePhase,
  observeLeaseItem,
  servingHolder,
} from '../../../shared/lease-table/lease-item';

const NOW = 1_800_000_000_000;
const held: LeaseRecord = { holderId: 'i-a', fencingToken: 3, expiresAtMs: NOW + 5_000 };
const serving: LeaseRecord = { ...held, primarySinceMs: NOW - 60_000 };

describe('leasePhase', () => {
  const table: [string, LeaseRecord, LeasePhase][] = [
    ['held, not yet published as primary', held, 'starting'],
    ['published as primary, unexpired', serving, 'serving'],
    ['expiring exactly now (the reader counts it expired)', { ...serving, expiresAtMs: NOW }, 'expired'],
    ["expired by the reader's clock", { ...serving, expiresAtMs: NOW - 1 }, 'expired'],
    ['released (its expiry set to 0)', { ...serving, expiresAtMs: 0, releasedAtMs: NOW - 10 }, 'released'],
    [
      'released, whatever its expiry says',
      { ...serving, expiresAtMs: NOW + 5_000, releasedAtMs: NOW - 10 },
      'released',
    ],
    [
      'serving with a standing handover request',
      { ...serving, handover: { to: 'i-b', requestedAtMs: NOW, expiresAtMs: NOW + 30_000 } },
      'handover-pending',
    ],
    [
      'serving with a void handover request (renewed past it)',
      { ...serving, handover: { to: 'i-b', requestedAtMs: NOW, expiresAtMs: NOW + 5_000 } },
      'serving',
    ],
  ];
  for (const [name, record, expected] of table) {
    it(`${name}: ${expected}`, () => {
      assert.equal(leasePhase(record, NOW), expected);
    });
  }
});

describe('servingHolder', () => {
  it('names the holder while it serves, with or without a pending handover, and nobody otherwise', () => {
    // Act
    const named = [
      servingHolder({ kind: 'present', record: serving }, NOW),
      servingHolder(
        {
          kind: 'present',
          record: { ...serving, handover: { to: 'i-b', requestedAtMs: NOW, expiresAtMs: NOW + 30_000 } },
        },
        NOW,
      ),
      servingHolder({ kind: 'present', record: held }, NOW),
      servingHolder({ kind: 'present', record: serving }, NOW + 5_000),
      servingHolder({ kind: 'absent' }, NOW),
      servingHolder({ kind: 'malformed' }, NOW),
    ];
    // Assess
    assert.deepEqual(named, ['i-a', 'i-a', undefined, undefined, undefined, undefined]);
  });
});

describe('observeLeaseItem', () => {
  it('reads an absent, a malformed and a well-formed item', () => {
    // Act
    const observed = [
      observeLeaseItem(undefined),
      observeLeaseItem({ lockName: { S: 'database-primary' }, holderId: { S: '' } }),
      observeLeaseItem({
        lockName: { S: 'database-primary' },
        holderId: { S: 'i-a' },
        fencingToken: { N: '3' },
        expiresAtMs: { N: '0' },
        releasedAtMs: { N: '12' },
      }),
    ];
    // Assess
    assert.deepEqual(observed, [
      { kind: 'absent' },
      { kind: 'malformed' },
      { kind: 'present', record: { holderId: 'i-a', fencingToken: 3, expiresAtMs: 0, releasedAtMs: 12 } },
    ]);
  });
});

describe('leaseTimingProblems', () => {
  const safe = { ttlMs: 10_000, renewIntervalMs: 2_000, selfFenceMarginMs: 3_000, clockSkewMs: 500 };
  it('finds nothing wrong with the defaults', () => {
    assert.deepEqual(leaseTimingProblems(safe), []);
    assert.doesNotThrow(() => assertLeaseTiming(safe));
  });

  const unsafe: [string, Partial<typeof safe>, string][] = [
    ['a margin as long as the TTL', { selfFenceMarginMs: 10_000 }, 'selfFenceMarginMs'],
    ['renewals that leave no room for a lost one', { renewIntervalMs: 4_000 }, 'renewIntervalMs'],
    ['a zero TTL', { ttlMs: 0 }, 'ttlMs'],
    ['a negative clock skew', { clockSkewMs: -1 }, 'clockSkewMs'],
  ];
  for (const [name, change, setting] of unsafe) {
    it(`refuses ${name}, naming ${setting}`, () => {
      const timing = { ...safe, ...change };
      assert.ok(leaseTimingProblems(timing).some(([key]) => key === setting));
      assert.throws(() => assertLeaseTiming(timing), new RegExp(`unsafe lease timing: .*${setting}`));
    });
  }
});
