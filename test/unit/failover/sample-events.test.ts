import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readInvocation } from '../../../handlers/failover/invocation';

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../handlers/failover/events/${name}`, import.meta.url), 'utf8'));

describe('the sample events in handlers/failover/events', () => {
  it('schedule.json is read as the one-minute schedule, acting for real', () => {
    assert.deepEqual(readInvocation(sample('schedule.json')), {
      trigger: { kind: 'schedule' },
      dryRun: undefined,
    });
  });

  it('instance-stopping.json is read as a state change of its instance', () => {
    assert.deepEqual(readInvocation(sample('instance-stopping.json')).trigger, {
      kind: 'instance-state-change',
      instanceId: 'i-0123456789abcdef0',
      state: 'stopping',
    });
  });

  it('dry-run.json asks for a dry run', () => {
    assert.equal(readInvocation(sample('dry-run.json')).dryRun, true);
  });
});
