import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  type Ec2FixtureServer,
  type Ec2Timing,
  type EmulatedHost,
  startEc2FixtureServer,
} from '../../support/ec2-api-server';

// The emulated EC2 API's stop semantics, through the real SDK client on 127.0.0.1. Waits are polls with generous
// limits; no duration is asserted beyond "not before".
const TIMING: Ec2Timing = {
  describeLagMs: 2_000,
  osShutdownTimeoutMs: 600,
  stopDurationMs: 200,
  impairedAfterMs: 300,
  timeoutFaultMs: 1_000,
};

function recordingHost(options: { osAnswers: boolean }) {
  const events: string[] = [];
  const host: EmulatedHost = {
    shutdownOs: () => {
      events.push('shutdown-os');
      return options.osAnswers ? Promise.resolve() : new Promise<void>(() => {});
    },
    powerOff: () => {
      events.push('power-off');
    },
  };
  return { host, events };
}

const instance = (instanceId: string) => ({
  instanceId,
  state: 'running' as const,
  instanceCheck: 'ok',
  systemCheck: 'ok',
  launchTime: '2026-12-01T00:00:00.000Z',
  tags: { database: 'true' },
  sourceDestCheck: true,
});

async function until(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  const giveUpAt = performance.now() + 30_000;
  while (!(await probe())) {
    if (performance.now() > giveUpAt) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('emulated EC2 API', () => {
  let server: Ec2FixtureServer;
  let ec2: EC2Client;
  afterEach(async () => {
    ec2.destroy();
    await server.close();
  });

  async function start() {
    server = await startEc2FixtureServer(
      { instances: [], routeTables: [] },
      { timing: TIMING, pageSize: 100 },
    );
    ec2 = new EC2Client({
      region: 'eu-west-1',
      endpoint: server.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  }
  const described = async (id: string) =>
    (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]
      ?.State?.Name;

  it('SkipOsShutdown: the instance runs on while stopping, powers off as it turns stopped, shown after the Describe lag', async () => {
    // Prepare
    await start();
    const { host, events } = recordingHost({ osAnswers: true });
    server.launch(instance('i-0aaa'), host);
    // Act
    const sentAt = performance.now();
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0aaa'], Force: true, SkipOsShutdown: true }));
    // Assess
    assert.deepEqual(events, [], 'no OS shutdown, and still powered while stopping');
    assert.equal(server.instance('i-0aaa')?.state, 'stopping');
    assert.equal(await described('i-0aaa'), 'running', 'Describe still shows the state of a moment ago');
    await until('stopped', () => server.instance('i-0aaa')?.state === 'stopped');
    assert.deepEqual(events, ['power-off']);
    await until('described as stopped', async () => (await described('i-0aaa')) === 'stopped');
    assert.ok(performance.now() - sentAt >= TIMING.stopDurationMs + TIMING.describeLagMs);
  });

  it('an Auto Scaling termination during a stop does not power the instance off any sooner', async () => {
    // Prepare
    await start();
    const { host, events } = recordingHost({ osAnswers: true });
    server.launch(instance('i-0eee'), host);
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0eee'], Force: true, SkipOsShutdown: true }));
    // Act
    server.terminate('i-0eee');
    // Assess
    assert.deepEqual(events, []);
    assert.equal(server.instance('i-0eee')?.state, 'stopping');
    await until('terminated', () => server.instance('i-0eee')?.state === 'terminated');
    assert.deepEqual(events, ['power-off']);
  });

  it('Force runs the OS shutdown first and powers off only after the timeout when the OS does not answer', async () => {
    // Prepare
    await start();
    const { host, events } = recordingHost({ osAnswers: false });
    server.launch(instance('i-0bbb'), host);
    // Act
    const sentAt = performance.now();
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0bbb'], Force: true }));
    // Assess
    assert.deepEqual(events, ['shutdown-os']);
    await until('powered off', () => events.includes('power-off'));
    assert.ok(performance.now() - sentAt >= TIMING.osShutdownTimeoutMs);
    await until('stopped', () => server.instance('i-0bbb')?.state === 'stopped');
  });

  it('a graceful stop waits for the OS; a later SkipOsShutdown escalates it', async () => {
    // Prepare
    await start();
    const { host, events } = recordingHost({ osAnswers: false });
    server.launch(instance('i-0ccc'), host);
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0ccc'] }));
    await new Promise((resolve) => setTimeout(resolve, TIMING.osShutdownTimeoutMs * 2));
    assert.deepEqual(events, ['shutdown-os'], 'no forced power-off without Force');
    // Act
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0ccc'], SkipOsShutdown: true }));
    // Assess
    await until('powered off', () => events.includes('power-off'));
    await until('stopped', () => server.instance('i-0ccc')?.state === 'stopped');
  });

  it('reports an unresponsive instance impaired after a while, and answers injected faults', async () => {
    // Prepare
    await start();
    server.launch(instance('i-0ddd'), recordingHost({ osAnswers: true }).host);
    const check = async () =>
      (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ['i-0ddd'] }))).InstanceStatuses?.[0]
        ?.InstanceStatus?.Status;
    // Act
    server.setUnresponsive('i-0ddd', true);
    // Assess
    assert.equal(await check(), 'ok');
    await until('impaired', async () => (await check()) === 'impaired');
    server.failNext('StopInstances', 'throttle');
    server.failNext('StopInstances', 'incorrect-state');
    await assert.rejects(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0ddd'] })), {
      name: 'RequestLimitExceeded',
    });
    await assert.rejects(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0ddd'] })), {
      name: 'IncorrectInstanceState',
    });
    assert.equal(server.instance('i-0ddd')?.state, 'running', 'a faulted request changed nothing');
    assert.deepEqual(server.faultCounts(), {
      throttle: 1,
      'server-error': 0,
      timeout: 0,
      'incorrect-state': 1,
    });
  });
  it('injects faults into the named actions only, and terminates a replaced instance', async () => {
    // Prepare
    await start();
    const { host, events } = recordingHost({ osAnswers: true });
    server.launch(instance('i-0eee'), host);
    // Act
    server.injectFaults({ rate: 1, faults: ['server-error'], actions: ['ModifyInstanceAttribute'] });
    const modify = ec2.send(
      new ModifyInstanceAttributeCommand({ InstanceId: 'i-0eee', SourceDestCheck: { Value: false } }),
    );
    const describe = described('i-0eee');
    server.terminate('i-0eee');
    // Assess
    await assert.rejects(modify, { name: 'InternalError' });
    assert.equal(await describe, 'running');
    assert.deepEqual(events, ['power-off']);
    await until('described as terminated', async () => (await described('i-0eee')) === 'terminated');
  });
});
