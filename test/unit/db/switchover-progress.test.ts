import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedLease } from '../../../handlers/failover/observation';
import { measuredWriteOutageMs, switchoverPhase } from '../../../scripts/db/switchover-progress';
import type { LeaseRecord, Takeover } from '../../../shared/lease-table/lease-item';

const plan = { from: 'i-a', to: 'i-b', fencingToken: 7 };
const present = (record: LeaseRecord): ObservedLease => ({ kind: 'present', record });
const handedOver: Takeover = {
  holderId: 'i-b',
  fencingToken: 8,
  reason: 'handover',
  fenced: 'none',
  previousHolderId: 'i-a',
  acquiredAtMs: 1_000,
  previousWritesStoppedAtMs: 600,
  primarySinceMs: 1_900,
};

describe('switchoverPhase', () => {
  const released = {
    holderId: 'i-a',
    fencingToken: 7,
    expiresAtMs: 0,
    releasedAtMs: 900,
    handedOverTo: 'i-b',
  };
  const taken = { holderId: 'i-b', fencingToken: 8, expiresAtMs: 9_000 };
  const table: { name: string; lease: ObservedLease; expected: string }[] = [
    {
      name: 'same generation, not released: still requested',
      lease: present({ holderId: 'i-a', fencingToken: 7, expiresAtMs: 5 }),
      expected: 'requested',
    },
    {
      name: 'same generation, renewed with the time its writes stopped: stopping',
      lease: present({ holderId: 'i-a', fencingToken: 7, expiresAtMs: 5, writesStoppedAtMs: 600 }),
      expected: 'stopping',
    },
    { name: 'same generation, released: released', lease: present(released), expected: 'released' },
    { name: 'the named standby holds the next generation: taken', lease: present(taken), expected: 'taken' },
    {
      name: 'and published itself as primary: primary',
      lease: present({ ...taken, primarySinceMs: 9 }),
      expected: 'primary',
    },
    {
      name: 'another instance took it: taken by another',
      lease: present({ ...taken, holderId: 'i-c' }),
      expected: 'taken-by-other',
    },
    {
      name: 'an older generation or no item: the lease is gone',
      lease: present({ ...taken, fencingToken: 3 }),
      expected: 'lease-gone',
    },
    { name: 'no item at all: the lease is gone', lease: { kind: 'absent' }, expected: 'lease-gone' },
  ];
  for (const row of table) {
    it(row.name, () => {
      // Act
      const phase = switchoverPhase(row.lease, plan);
      // Assess
      assert.equal(phase.kind, row.expected);
    });
  }
  it("tells a standing request from one the holder's renewals have voided", () => {
    // Prepare
    const handover = { to: 'i-b', requestedAtMs: 1, expiresAtMs: 30_000 };
    const lease = (expiresAtMs: number) =>
      present({ holderId: 'i-a', fencingToken: 7, expiresAtMs, handover });
    // Act
    const phases = [switchoverPhase(lease(29_999), plan), switchoverPhase(lease(30_000), plan)];
    // Assess
    assert.deepEqual(phases, [
      { kind: 'requested', standing: true },
      { kind: 'requested', standing: false },
    ]);
  });
});

describe('measuredWriteOutageMs', () => {
  it('is the new primary’s start less the old one’s stop, from the handover’s takeover entry', () => {
    // Prepare
    const record = { holderId: 'i-b', fencingToken: 8, expiresAtMs: 9_000, takeovers: [handedOver] };
    // Act
    const outage = measuredWriteOutageMs(record, plan);
    // Assess
    assert.equal(outage, 1_300);
  });

  it('is unknown before the new holder is primary, or for a takeover that was not a handover', () => {
    // Prepare
    const notYet = { ...handedOver, primarySinceMs: undefined };
    const fenced: Takeover = { ...handedOver, reason: 'expired', fenced: 'holder' };
    // Act
    const outages = [notYet, fenced].map((t) =>
      measuredWriteOutageMs({ holderId: 'i-b', fencingToken: 8, expiresAtMs: 1, takeovers: [t] }, plan),
    );
    // Assess
    assert.deepEqual(outages, [undefined, undefined]);
  });
});
