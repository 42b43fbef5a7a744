import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideHolder,
  decideStandby,
  handoverTarget,
  leaseStamp,
  type StandbyDecision,
  versionKey,
} from '../../../ec2/sidecar/lease/lease-decisions';
import type { LeaseObservation } from '../../../shared/lease-table/lease-item';

const NOW = 1_800_000_000_000;
const timing = { ttlMs: 10_000, clockSkewMs: 500 };
const held = (
  holderId: string,
  expiresAtMs: number,
  extra: { releasedAtMs?: number; fenceAllPending?: boolean; handedOverTo?: string } = {},
): LeaseObservation => ({
  kind: 'present',
  record: {
    holderId,
    fencingToken: 7,
    expiresAtMs,
    ...(extra.fenceAllPending ? { fenceAllPending: true } : {}),
    ...(extra.handedOverTo ? { handedOverTo: extra.handedOverTo } : {}),
    ...(extra.releasedAtMs === undefined ? {} : { releasedAtMs: extra.releasedAtMs }),
  },
});
const version = (expiresAtMs: number) => ({ kind: 'version' as const, fencingToken: 7, expiresAtMs });

describe('decideStandby', () => {
  const table: {
    name: string;
    observation: LeaseObservation;
    unchangedForMs?: number;
    expected: StandbyDecision;
  }[] = [
    {
      name: 'no lease item: holder unknown, take it and fence every other instance',
      observation: { kind: 'absent' },
      expected: {
        kind: 'take',
        reason: 'holder-unknown',
        replaces: { kind: 'absent' },
        fence: { kind: 'all-others' },
      },
    },
    {
      name: 'malformed item: holder unknown too, replace it only while still malformed',
      observation: { kind: 'malformed' },
      expected: {
        kind: 'take',
        reason: 'holder-unknown',
        replaces: { kind: 'malformed' },
        fence: { kind: 'all-others' },
      },
    },
    {
      name: 'held by a peer, just seen: wait (in sync, nothing to do)',
      observation: held('i-peer', NOW + 5_000),
      unchangedForMs: 0,
      expected: { kind: 'wait', reason: 'held-by-peer' },
    },
    {
      name: 'unchanged exactly TTL + margin: still wait',
      observation: held('i-peer', NOW - 60_000),
      unchangedForMs: 10_500,
      expected: { kind: 'wait', reason: 'held-by-peer' },
    },
    {
      name: 'unchanged past TTL + margin: fence the holder, then take this exact version',
      observation: held('i-peer', NOW + 60_000),
      unchangedForMs: 10_501,
      expected: {
        kind: 'take',
        reason: 'expired',
        replaces: version(NOW + 60_000),
        fence: { kind: 'holder', peerId: 'i-peer' },
      },
    },
    {
      name: 'wall clocks play no part: an expiry minutes in the past, just seen, is not expired',
      observation: held('i-peer', NOW - 300_000),
      unchangedForMs: 100,
      expected: { kind: 'wait', reason: 'held-by-peer' },
    },
    {
      name: 'released by its holder (PostgreSQL already stopped): take it without fencing',
      observation: held('i-peer', 0, { releasedAtMs: NOW - 10 }),
      expected: { kind: 'take', reason: 'released', replaces: version(0), fence: { kind: 'none' } },
    },
    {
      name: 'handed over to this instance (a switchover): take it without fencing',
      observation: held('i-peer', 0, { releasedAtMs: NOW - 10, handedOverTo: 'i-self' }),
      expected: { kind: 'take', reason: 'handover', replaces: version(0), fence: { kind: 'none' } },
    },
    {
      name: 'handed over to another standby: wait for it, up to TTL + margin',
      observation: held('i-peer', 0, { releasedAtMs: NOW - 10, handedOverTo: 'i-other' }),
      unchangedForMs: 10_500,
      expected: { kind: 'wait', reason: 'handed-over-to-peer' },
    },
    {
      name: 'handed over to another standby that did not take it in TTL + margin: take it as released',
      observation: held('i-peer', 0, { releasedAtMs: NOW - 10, handedOverTo: 'i-other' }),
      unchangedForMs: 10_501,
      expected: { kind: 'take', reason: 'released', replaces: version(0), fence: { kind: 'none' } },
    },
    {
      name: 'handed over by an earlier run of this instance to a peer: wait for the peer, not taken back',
      observation: held('i-self', 0, { releasedAtMs: NOW - 10, handedOverTo: 'i-other' }),
      unchangedForMs: 0,
      expected: { kind: 'wait', reason: 'handed-over-to-peer' },
    },
    {
      name: 'handed over to this instance by a holder that had not yet fenced everyone: fence everyone',
      observation: held('i-peer', 0, {
        releasedAtMs: NOW - 10,
        handedOverTo: 'i-self',
        fenceAllPending: true,
      }),
      expected: { kind: 'take', reason: 'handover', replaces: version(0), fence: { kind: 'all-others' } },
    },
    {
      name: 'held by an earlier run of this instance, still valid: taken back at once (its precedence)',
      observation: held('i-self', NOW + 5_000),
      expected: {
        kind: 'take',
        reason: 'own-earlier-run',
        replaces: version(NOW + 5_000),
        fence: { kind: 'none' },
      },
    },
    {
      name: 'expired while its holder had not yet fenced everyone: fence everyone',
      observation: held('i-peer', NOW, { fenceAllPending: true }),
      unchangedForMs: 20_000,
      expected: { kind: 'take', reason: 'expired', replaces: version(NOW), fence: { kind: 'all-others' } },
    },
    {
      name: 'own earlier run had not yet fenced everyone: take it back and finish that first',
      observation: held('i-self', NOW, { fenceAllPending: true }),
      expected: {
        kind: 'take',
        reason: 'own-earlier-run',
        replaces: version(NOW),
        fence: { kind: 'all-others' },
      },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      // Act
      const decision = decideStandby({
        observation: row.observation,
        selfId: 'i-self',
        unchangedForMs: row.unchangedForMs ?? 0,
        timing,
      });
      // Assess
      assert.deepEqual(decision, row.expected);
    });
  }
});

describe('handoverTarget', () => {
  // The lease as the renewal wrote it: the holder's wall clock + TTL.
  const LEASE_EXPIRES = NOW + 10_000;
  const request = (to: string, expiresAtMs: number) => ({
    expiresAtMs: LEASE_EXPIRES,
    handover: { to, requestedAtMs: NOW - 1_000, expiresAtMs },
  });
  const table: {
    name: string;
    record: Parameters<typeof handoverTarget>[0];
    expected: string | undefined;
  }[] = [
    { name: 'no request: none', record: { expiresAtMs: LEASE_EXPIRES }, expected: undefined },
    { name: 'no record (a fake or an empty answer): none', record: undefined, expected: undefined },
    {
      name: "a request past the lease's expiry, naming a standby: that standby",
      record: request('i-b', LEASE_EXPIRES + 1),
      expected: 'i-b',
    },
    {
      name: 'a request naming the holder itself: none',
      record: request('i-self', LEASE_EXPIRES + 30_000),
      expected: undefined,
    },
    {
      name: "a request the lease's expiry has reached (stale): none",
      record: request('i-b', LEASE_EXPIRES),
      expected: undefined,
    },
    {
      // The requester's clock 60 s behind the holder's: its own "now" plays no part, only the lease it read.
      name: "a request stamped from the lease it read, whatever the requester's clock: that standby",
      record: {
        expiresAtMs: LEASE_EXPIRES,
        handover: { to: 'i-b', requestedAtMs: NOW - 60_000, expiresAtMs: LEASE_EXPIRES - 2_000 + 30_000 },
      },
      expected: 'i-b',
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      // Act
      const to = handoverTarget(row.record, 'i-self');
      // Assess
      assert.equal(to, row.expected);
    });
  }
});

describe('versionKey', () => {
  it('changes with every renewal, release and mark, and with nothing else', () => {
    // Act
    const base = held('i-peer', NOW);
    // Assess
    assert.equal(versionKey(base), versionKey(held('i-peer', NOW)));
    for (const other of [
      held('i-peer', NOW + 1),
      held('i-peer', NOW, { releasedAtMs: 1 }),
      held('i-peer', NOW, { fenceAllPending: true }),
      held('i-other', NOW),
      { kind: 'absent' } as const,
    ])
      assert.notEqual(versionKey(base), versionKey(other));
  });
});

describe('leaseStamp', () => {
  it('puts the self-fence deadline the margin before the expiry, both from the clocks read before sending', () => {
    // Act
    const stamp = leaseStamp({ wallMs: NOW, monoMs: 50_000 }, { ttlMs: 10_000, selfFenceMarginMs: 3_000 });
    // Assess
    assert.deepEqual(stamp, { expiresAtMs: NOW + 10_000, selfFenceAtMonoMs: 57_000 });
  });

  it('never lets the holder run PostgreSQL up to the moment a standby may take over', () => {
    // Prepare: the holder stamps at mono 0 and its write is applied (and first seen by a standby) no earlier.
    const stamp = leaseStamp({ wallMs: NOW, monoMs: 0 }, { ttlMs: 10_000, selfFenceMarginMs: 3_000 });
    const firstSeenAt = 0;
    // Act: the first moment the standby's rule lets it take, in real time.
    const earliestTakeover = firstSeenAt + timing.ttlMs + timing.clockSkewMs + 1;
    // Assess
    assert.ok(stamp.selfFenceAtMonoMs < earliestTakeover);
  });

  it('always writes a new version, even when the wall clock stepped back', () => {
    // Act
    const stamp = leaseStamp(
      { wallMs: NOW - 60_000, monoMs: 0 },
      { ttlMs: 10_000, selfFenceMarginMs: 3_000 },
      NOW,
    );
    // Assess
    assert.equal(stamp.expiresAtMs, NOW + 1);
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
