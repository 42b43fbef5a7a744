import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { descendantsOf, type ProcessInfo, parseStat } from '../../../ec2/sidecar/proc/process-table';

describe('parseStat', () => {
  it('reads state and parent, even with spaces and parentheses in the name', () => {
    // Prepare
    const stat = '4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 0 0';
    // Act / Assess
    assert.deepEqual(parseStat(stat), {
      pid: 4242,
      ppid: 17,
      state: 'S',
      comm: 'post gres) (x)',
    });
  });

  it('rejects text that is not a stat line', () => {
    // Act / Assess
    assert.equal(parseStat('garbage'), undefined);
  });
});

describe('descendantsOf', () => {
  it('follows parents, and not re-parented orphans', () => {
    // Prepare
    const p = (pid: number, ppid: number): ProcessInfo => ({
      pid,
      ppid,
      state: 'S',
      comm: 'x',
    });
    const all = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(13, 1), p(20, 1)];
    // Act / Assess
    assert.deepEqual(
      descendantsOf(10, all).map((d) => d.pid),
      [11, 12],
    );
  });
});
