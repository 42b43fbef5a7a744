import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceHealth, toInstanceState, toStatusCheck } from '../../../handlers/failover/ec2-state';
import { toRouteState } from '../../../shared/vip-routes';

describe('toInstanceState', () => {
  it('keeps every state EC2 documents', () => {
    for (const state of ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']) {
      assert.equal(toInstanceState(state), state);
    }
  });

  it('maps anything else, and nothing, to unknown', () => {
    for (const raw of ['hibernating', 'Running', '', undefined])
      assert.equal(toInstanceState(raw), 'unknown');
  });
});

describe('toStatusCheck and toRouteState', () => {
  it('keep the documented values and map the rest to unknown', () => {
    assert.equal(toStatusCheck('insufficient-data'), 'insufficient-data');
    assert.equal(toStatusCheck('degraded'), 'unknown');
    assert.equal(toStatusCheck(undefined), 'unknown');
    assert.equal(toRouteState('blackhole'), 'blackhole');
    assert.equal(toRouteState('propagating'), 'unknown');
  });
});

describe('instanceHealth', () => {
  const rows = [
    ['running', 'ok', 'ok', 'healthy'],
    ['running', 'impaired', 'ok', 'impaired'],
    ['running', 'ok', 'impaired', 'impaired'],
    ['running', 'initializing', 'ok', 'starting'],
    ['running', 'insufficient-data', 'ok', 'unknown'],
    ['running', 'unknown', 'ok', 'unknown'],
    ['pending', 'unknown', 'unknown', 'starting'],
    ['stopping', 'ok', 'ok', 'down'],
    ['stopped', 'not-applicable', 'not-applicable', 'down'],
    ['shutting-down', 'ok', 'ok', 'down'],
    ['terminated', 'not-applicable', 'not-applicable', 'down'],
    ['unknown', 'ok', 'ok', 'unknown'],
  ] as const;
  for (const [state, instanceStatus, systemStatus, expected] of rows) {
    it(`${state} with checks ${instanceStatus}/${systemStatus} is ${expected}`, () => {
      assert.equal(instanceHealth(state, instanceStatus, systemStatus), expected);
    });
  }
});
