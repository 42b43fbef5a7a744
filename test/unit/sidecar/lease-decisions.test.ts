import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideHolder,
  decideStandby,
  type LeaseObservation,
  leaseStamp,
  type StandbyDecision,
} from '../../../ec2/sidecar/lease/lease-decisions';

const NOW = 1_800_000_000_000;
const timing = { clockSkewMs: 500 };
const held = (holderId: string, expiresAtMs: number, releasedAtMs?: number): LeaseObservation => ({
  kind: 'present',
  record: { holderId, fencingToken: 7, expiresAtMs },
  ...(releasedAtMs === undefined ? {} : { releasedAtMs }),
});
const version = (expiresAtMs: number) => ({ kind: 'version' as const, fencingToken: 7, expiresAtMs });

describe('decideStandby', () => {
  const table: { name: string; observation: LeaseObservation; expected: StandbyDecision }[] = [
    {
      name: 'no lease yet: take it, expecting it still absent',
      observation: { kind: 'absent' },
      expected: { kind: 'acquire', replaces: { kind: 'absent' }, reason: 'absent' },
    },
    {
      name: 'malformed item: never acted upon',
      observation: { kind: 'malformed' },
      expected: { kind: 'wait', reason: 'malformed' },
    },
    {
      name: 'held by a peer and valid: wait (in sync, nothing to do)',
      observation: held('i-peer', NOW + 5_000),
      expected: { kind: 'wait', reason: 'held-by-peer' },
    },
    {
      name: 'expired, but not past the clock-skew budget: still wait',
      observation: held('i-peer', NOW - 400),
      expected: { kind: 'wait', reason: 'held-by-peer' },
    },
    {
      name: 'expired exactly at the skew budget: still wait',
      observation: held('i-peer', NOW - 500),
      expected: { kind: 'wait', reason: 'held-by-peer' },
    },
    {
      name: 'expired past the skew budget: fence the holder, then take this exact version',
      observation: held('i-peer', NOW - 501),
      expected: { kind: 'fence-then-acquire', peerId: 'i-peer', replaces: version(NOW - 501) },
    },
    {
      name: 'released by its holder (PostgreSQL already stopped): take it without fencing',
      observation: held('i-peer', 0, NOW - 10),
      expected: { kind: 'acquire', replaces: version(0), reason: 'released' },
    },
    {
      name: 'held by an earlier run of this instance, still valid: wait for it to expire',
      observation: held('i-self', NOW + 5_000),
      expected: { kind: 'wait', reason: 'held-by-earlier-self' },
    },
    {
      name: 'held by an earlier run of this instance, expired: take it, nobody to fence',
      observation: held('i-self', NOW - 1_000),
      expected: { kind: 'acquire', replaces: version(NOW - 1_000), reason: 'expired-own' },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      // Act
      const decision = decideStandby({
        observation: row.observation,
        selfId: 'i-self',
        nowWallMs: NOW,
        timing,
      });
      // Assess
      assert.deepEqual(decision, row.expected);
    });
  }
});

describe('leaseStamp', () => {
  it('puts the self-fence deadline the margin before the expiry, both from the clocks read before sending', () => {
    // Act
    const stamp = leaseStamp({ wallMs: NOW, monoMs: 50_000 }, { ttlMs: 10_000, selfFenceMarginMs: 3_000 });
    // Assess
    assert.deepEqual(stamp, { expiresAtMs: NOW + 10_000, selfFenceAtMonoMs: 57_000 });
  });

  it('never lets the holder run PostgreSQL up to the moment a standby may take over', () => {
    // Prepare: a standby on a clock that runs up to the skew budget ahead of the holder's.
    const skew = 500;
    const stamp = leaseStamp({ wallMs: NOW, monoMs: 0 }, { ttlMs: 10_000, selfFenceMarginMs: 3_000 });
    // Act: the first wall time at which a standby (skewed ahead) decides the lease is free, in holder time.
    const earliestTakeoverHolderMs = stamp.expiresAtMs + skew + 1 - skew - NOW;
    // Assess
    assert.ok(stamp.selfFenceAtMonoMs < earliestTakeoverHolderMs);
  });
});

describe('decideHolder', () => {
  it('renews before the deadline', () => {
    assert.deepEqual(decideHolder({ nowMonoMs: 6_999, selfFenceAtMonoMs: 7_000, leaseTaken: false }), {
      kind: 'renew',
    });
  });

  it('self-fences at the deadline, e.g. on waking from a pause, before trying to renew', () => {
    assert.deepEqual(decideHolder({ nowMonoMs: 7_000, selfFenceAtMonoMs: 7_000, leaseTaken: false }), {
      kind: 'self-fence',
      reason: 'deadline-passed',
    });
  });

  it('self-fences at once when the store says the lease is someone else’s', () => {
    assert.deepEqual(decideHolder({ nowMonoMs: 0, selfFenceAtMonoMs: 7_000, leaseTaken: true }), {
      kind: 'self-fence',
      reason: 'lease-taken',
    });
  });
});
