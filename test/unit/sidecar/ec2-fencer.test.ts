import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeInstancesCommand,
  EC2Client,
  type InstanceStateName,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ec2Fencer } from '../../../ec2/sidecar/fence/ec2-fencer';
import { FenceError } from '../../../ec2/sidecar/fence/fencer';
import { createLogger } from '../../../shared/logger';
import { FakeClock } from './fake-clock';

const ec2Mock = mockClient(EC2Client);
// Unknown names included on purpose: the fencer must cope with states the SDK does not list.
const state = (name: string) => ({
  Reservations: [{ Instances: [{ InstanceId: 'i-peer', State: { Name: name as InstanceStateName } }] }],
});

function fencer(clock = new FakeClock(), skipOsShutdown = true) {
  return ec2Fencer({
    ec2: new EC2Client({ region: 'eu-west-1' }),
    clock,
    logger: createLogger('test', 'silent'),
    selfId: 'i-self',
    stage: 'dev',
    pollIntervalMs: 2_000,
    timeoutMs: 10_000,
    notFoundGraceMs: 60_000,
    skipOsShutdown,
  });
}

describe('ec2Fencer', () => {
  beforeEach(() => ec2Mock.reset());

  it('sends nothing when the peer is already stopped', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(state('stopped'));
    // Act
    await fencer().fence('i-peer');
    // Assess
    assert.equal(ec2Mock.commandCalls(StopInstancesCommand).length, 0);
  });

  it('takes "not found" for unknown until it has persisted for the grace period', async () => {
    // Prepare: EC2 is eventually consistent; it says NotFound of instances it does not show yet.
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidInstanceID.NotFound' }));
    const clock = new FakeClock();
    const subject = fencer(clock);
    // Act / Assess: refused at first and just before the grace ends, accepted once it has passed.
    await assert.rejects(subject.fence('i-peer'), FenceError);
    await clock.advance(59_999);
    await assert.rejects(subject.fence('i-peer'), FenceError);
    await clock.advance(1);
    await subject.fence('i-peer');
    assert.equal(ec2Mock.commandCalls(StopInstancesCommand).length, 0);
  });

  it('starts the grace period again once the instance was seen', async () => {
    // Prepare
    const notFound = Object.assign(new Error('gone'), { name: 'InvalidInstanceID.NotFound' });
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(notFound)
      .resolvesOnce(state('running'))
      .rejects(notFound);
    ec2Mock
      .on(StopInstancesCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'RequestLimitExceeded' }));
    const clock = new FakeClock();
    const subject = fencer(clock);
    await assert.rejects(subject.fence('i-peer'), FenceError);
    await clock.advance(40_000);
    await assert.rejects(subject.fence('i-peer'), FenceError); // running: stop throttled
    // Act
    await clock.advance(40_000);
    // Assess: 80 s after the first NotFound, but only just after the second.
    await assert.rejects(subject.fence('i-peer'), FenceError);
  });

  it('fences every other database instance of the stage, found by its tags, and never itself', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand, {
        Filters: [
          { Name: 'tag:cloudy:stage', Values: ['dev'] },
          { Name: 'tag:database', Values: ['true'] },
        ],
      })
      .resolves({
        Reservations: [
          { Instances: [{ InstanceId: 'i-self' }, { InstanceId: 'i-a' }] },
          { Instances: [{ InstanceId: 'i-b' }] },
        ],
      });
    ec2Mock
      .on(DescribeInstancesCommand, { InstanceIds: ['i-a'] })
      .resolvesOnce(state('running'))
      .resolves(state('stopped'));
    ec2Mock.on(DescribeInstancesCommand, { InstanceIds: ['i-b'] }).resolves(state('terminated'));
    ec2Mock.on(StopInstancesCommand).resolves({});
    const clock = new FakeClock();
    // Act
    const fenced = fencer(clock).fenceAllOthers();
    await clock.advance(2_000);
    await fenced;
    // Assess
    const stops = ec2Mock.commandCalls(StopInstancesCommand).map((call) => call.args[0].input.InstanceIds);
    assert.deepEqual(stops, [['i-a']]);
  });

  it('does not report everyone fenced when EC2 throttles or fails (5xx)', async () => {
    for (const name of ['RequestLimitExceeded', 'InternalError', 'ServiceUnavailable']) {
      // Prepare
      ec2Mock.reset();
      ec2Mock
        .on(DescribeInstancesCommand)
        .rejects(Object.assign(new Error(name), { name, $fault: 'server' }));
      // Act / Assess
      await assert.rejects(fencer().fenceAllOthers(), FenceError, name);
      assert.equal(ec2Mock.commandCalls(StopInstancesCommand).length, 0);
    }
  });

  it('force-stops a running peer and returns only once EC2 reports it stopped', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(state('running'))
      .resolvesOnce(state('stopping'))
      .resolves(state('stopped'));
    ec2Mock.on(StopInstancesCommand).resolves({});
    const clock = new FakeClock();
    // Act
    const fenced = fencer(clock).fence('i-peer');
    await clock.advance(4_000);
    await fenced;
    // Assess
    const stops = ec2Mock.commandCalls(StopInstancesCommand);
    assert.equal(stops.length, 1);
    assert.deepEqual(stops[0]?.args[0].input, { InstanceIds: ['i-peer'], Force: true, SkipOsShutdown: true });
    assert.equal(ec2Mock.commandCalls(DescribeInstancesCommand).length, 3);
  });

  it('leaves the graceful OS shutdown to EC2 when told not to skip it', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(state('running')).resolves(state('stopped'));
    ec2Mock.on(StopInstancesCommand).resolves({});
    const clock = new FakeClock();
    // Act
    const fenced = fencer(clock, false).fence('i-peer');
    await clock.advance(2_000);
    await fenced;
    // Assess
    const stops = ec2Mock.commandCalls(StopInstancesCommand);
    assert.deepEqual(stops[0]?.args[0].input, {
      InstanceIds: ['i-peer'],
      Force: true,
      SkipOsShutdown: false,
    });
  });

  it('gives up (so the lease is not taken) when the peer does not stop in time', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(state('stopping'));
    ec2Mock.on(StopInstancesCommand).resolves({});
    const clock = new FakeClock();
    // Act
    const fenced = fencer(clock).fence('i-peer');
    const outcome = assert.rejects(fenced, FenceError);
    await clock.advance(12_000);
    // Assess
    await outcome;
  });

  it('never acts on an unknown state', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(state('rebooting-into-the-void'));
    // Act / Assess
    await assert.rejects(fencer().fence('i-peer'), FenceError);
    assert.equal(ec2Mock.commandCalls(StopInstancesCommand).length, 0);
  });

  it('reports AccessDenied and throttling as a fence that did not happen', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(state('running'));
    ec2Mock
      .on(StopInstancesCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));
    // Act / Assess
    await assert.rejects(fencer().fence('i-peer'), FenceError);
    ec2Mock.reset();
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'RequestLimitExceeded' }));
    await assert.rejects(fencer().fence('i-peer'), FenceError);
  });

  it('refuses to fence its own instance', async () => {
    await assert.rejects(fencer().fence('i-self'), FenceError);
    assert.equal(ec2Mock.calls().length, 0);
  });
});
