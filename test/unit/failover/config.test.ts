import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFailoverConfig } from '../../../handlers/failover/config';
import { readInvocation } from '../../../handlers/failover/invocation';
import { ConfigurationError } from '../../../shared/configuration';

describe('readFailoverConfig', () => {
  it('needs only STAGE and fills in the defaults (lease disabled, not a dry run)', () => {
    assert.deepEqual(readFailoverConfig({ STAGE: 'dev' }), {
      stage: 'dev',
      virtualIp: '10.10.10.10',
      destinationCidrBlock: '10.10.10.10/32',
      leaseTable: undefined,
      leaseName: 'database-primary',
      dryRun: false,
    });
  });

  it('reads VIRTUAL_IP, LEASE_TABLE, LEASE_NAME and DRY_RUN', () => {
    // Act
    const config = readFailoverConfig({
      STAGE: 'prod',
      VIRTUAL_IP: '10.20.0.5',
      LEASE_TABLE: 'cloudy-prod-lease',
      LEASE_NAME: 'other-lease',
      DRY_RUN: 'true',
    });
    // Assess
    assert.equal(config.destinationCidrBlock, '10.20.0.5/32');
    assert.equal(config.leaseTable, 'cloudy-prod-lease');
    assert.equal(config.leaseName, 'other-lease');
    assert.equal(config.dryRun, true);
  });

  it('treats an empty LEASE_TABLE as "lease disabled"', () => {
    assert.equal(readFailoverConfig({ STAGE: 'dev', LEASE_TABLE: '' }).leaseTable, undefined);
  });

  const invalid: [string, Record<string, string>, RegExp][] = [
    ['a missing STAGE', {}, /STAGE: required/],
    ['a STAGE that is not a stage name', { STAGE: 'dev stage' }, /STAGE: must be a stage name/],
    ['a VIRTUAL_IP that is not IPv4', { STAGE: 'dev', VIRTUAL_IP: '10.10.10.10/32' }, /VIRTUAL_IP/],
    ['a LEASE_TABLE that is not a table name', { STAGE: 'dev', LEASE_TABLE: 'a b' }, /LEASE_TABLE/],
    ['a DRY_RUN that is not a boolean', { STAGE: 'dev', DRY_RUN: 'yes please' }, /DRY_RUN/],
  ];
  for (const [name, env, message] of invalid) {
    it(`rejects ${name}, naming the key`, () => {
      assert.throws(
        () => readFailoverConfig(env),
        (error: unknown) => error instanceof ConfigurationError && message.test(error.message),
      );
    });
  }
});

describe('readInvocation', () => {
  it('recognises the one-minute schedule', () => {
    // Prepare
    const event = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    // Act / Assess
    assert.deepEqual(readInvocation(event), { trigger: { kind: 'schedule' }, dryRun: undefined });
  });

  it('recognises an EC2 state-change notification and names the instance', () => {
    // Prepare
    const event = {
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      detail: { 'instance-id': 'i-0abc', state: 'stopping' },
    };
    // Act / Assess
    assert.deepEqual(readInvocation(event).trigger, {
      kind: 'instance-state-change',
      instanceId: 'i-0abc',
      state: 'stopping',
    });
  });

  it('takes dryRun from a hand-written event', () => {
    assert.deepEqual(readInvocation({ dryRun: true }), { trigger: { kind: 'manual' }, dryRun: true });
    assert.equal(readInvocation({ dryRun: 'false' }).dryRun, false);
    assert.equal(readInvocation({}).dryRun, undefined);
  });

  it('rejects a dryRun that is not a boolean', () => {
    assert.throws(() => readInvocation({ dryRun: 1 }), ConfigurationError);
  });

  it('refuses a hand-written event with a key it does not know, such as a mistyped dryRun', () => {
    assert.throws(
      () => readInvocation({ dryrun: true }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /unknown key "dryrun" \(a hand-written event takes only "dryRun"\)/.test(error.message),
    );
    assert.throws(() => readInvocation({ dryRun: true, force: true }), /unknown key "force"/);
    assert.throws(() => readInvocation('dryRun'), ConfigurationError);
  });

  it('refuses an EventBridge event of a kind the controller does not take', () => {
    assert.throws(
      () => readInvocation({ source: 'aws.ec2', 'detail-type': 'EBS Volume Notification', detail: {} }),
      /detail-type "EBS Volume Notification"/,
    );
  });
});
