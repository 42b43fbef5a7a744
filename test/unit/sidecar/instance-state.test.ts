import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fenceStateOf } from '../../../ec2/sidecar/fence/instance-state';

describe('fenceStateOf', () => {
  it('maps every EC2 state, and anything else to unknown', () => {
    // Prepare
    const table: [string | undefined, string][] = [
      ['stopped', 'stopped'],
      ['terminated', 'stopped'],
      ['not-found', 'unknown'],
      ['pending', 'running'],
      ['running', 'running'],
      ['stopping', 'running'],
      ['shutting-down', 'running'],
      ['hibernating', 'unknown'],
      [undefined, 'unknown'],
    ];
    // Act / Assess
    for (const [ec2State, expected] of table)
      assert.equal(fenceStateOf(ec2State), expected, String(ec2State));
  });
});
