import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeInstancesCommand,
  EC2Client,
  type InstanceStateName,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createLogger } from '../../../ec2/lib/logger';
import { ec2Fencer } from '../../../ec2/sidecar/fence/ec2-fencer';
import { FenceError } from '../../../ec2/sidecar/fence/fencer';
import { FakeClock } from './fake-clock';

const ec2Mock = mockClient(EC2Client);
// Unknown names included on purpose: the fencer must cope with states the SDK does not list.
const state = (name: string) => ({
  Reservations: [{ Instances: [{ InstanceId: 'i-peer', State: { Name: name as InstanceStateName } }] }],
});

function fencer(clock = new FakeClock()) {
  return ec2Fencer({
    ec2: new EC2Client({ region: 'eu-west-1' }),
    clock,
    logger: createLogger('test', 'silent'),
    selfId: 'i-self',
    pollIntervalMs: 2_000,
    timeoutMs: 10_000,
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

  it('treats an instance EC2 no longer knows as stopped', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidInstanceID.NotFound' }));
    // Act
    await fencer().fence('i-peer');
    // Assess
    assert.equal(ec2Mock.commandCalls(StopInstancesCommand).length, 0);
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
    assert.deepEqual(stops[0]?.args[0].input, { InstanceIds: ['i-peer'], Force: true });
    assert.equal(ec2Mock.commandCalls(DescribeInstancesCommand).length, 3);
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
