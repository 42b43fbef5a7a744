import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  CreateRouteCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ec2Promoter } from '../../../ec2/sidecar/promote/ec2-promoter';
import { PromoteError } from '../../../ec2/sidecar/promote/promoter';
import { createLogger } from '../../../shared/logger';

const ec2Mock = mockClient(EC2Client);
const VIP = '10.10.10.10/32';
const instance = (sourceDestCheck: boolean) => ({
  Reservations: [{ Instances: [{ InstanceId: 'i-self', SourceDestCheck: sourceDestCheck }] }],
});
const tables = (targets: Record<string, string | undefined>) => ({
  RouteTables: Object.entries(targets).map(([id, target]) => ({
    RouteTableId: id,
    Routes: [
      { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' },
      ...(target ? [{ DestinationCidrBlock: VIP, InstanceId: target, State: 'active' as const }] : []),
    ],
  })),
});

function promoter() {
  return ec2Promoter({
    ec2: new EC2Client({ region: 'eu-west-1' }),
    logger: createLogger('test', 'silent'),
    instanceId: 'i-self',
    virtualIp: '10.10.10.10',
    routeTableIds: ['rtb-a', 'rtb-b'],
    sleep: async () => {},
  });
}

describe('ec2Promoter', () => {
  beforeEach(() => ec2Mock.reset());

  it('changes nothing when already in place', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(instance(false));
    ec2Mock.on(DescribeRouteTablesCommand).resolves(tables({ 'rtb-a': 'i-self', 'rtb-b': 'i-self' }));
    // Act
    await promoter().promote({ fencingToken: 4 });
    // Assess
    assert.equal(ec2Mock.commandCalls(ModifyInstanceAttributeCommand).length, 0);
    assert.equal(ec2Mock.commandCalls(ReplaceRouteCommand).length, 0);
    assert.equal(ec2Mock.commandCalls(CreateRouteCommand).length, 0);
  });

  it('turns the source/destination check off, replaces a route to the old primary and creates a missing one', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(instance(true));
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .resolvesOnce(tables({ 'rtb-a': 'i-old', 'rtb-b': undefined }))
      .resolves(tables({ 'rtb-a': 'i-self', 'rtb-b': 'i-self' }));
    // Act
    await promoter().promote({ fencingToken: 4 });
    // Assess
    assert.deepEqual(ec2Mock.commandCalls(ModifyInstanceAttributeCommand)[0]?.args[0].input, {
      InstanceId: 'i-self',
      SourceDestCheck: { Value: false },
    });
    assert.deepEqual(ec2Mock.commandCalls(ReplaceRouteCommand)[0]?.args[0].input, {
      RouteTableId: 'rtb-a',
      DestinationCidrBlock: VIP,
      InstanceId: 'i-self',
    });
    assert.deepEqual(ec2Mock.commandCalls(CreateRouteCommand)[0]?.args[0].input, {
      RouteTableId: 'rtb-b',
      DestinationCidrBlock: VIP,
      InstanceId: 'i-self',
    });
  });

  it('fails when the route does not point here after the update (verify step)', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(instance(false));
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    ec2Mock.on(DescribeRouteTablesCommand).resolves(tables({ 'rtb-a': 'i-old', 'rtb-b': 'i-self' }));
    // Act / Assess
    await assert.rejects(promoter().promote({ fencingToken: 4 }), /rtb-a/);
    assert.equal(
      ec2Mock.commandCalls(ReplaceRouteCommand).length,
      1,
      'the check re-reads, it never rewrites',
    );
  });

  it('waits out reads that still show the old target after the change (EC2 is eventually consistent)', async () => {
    // Prepare: the read before the change and the next two after it show the old primary
    ec2Mock.on(DescribeInstancesCommand).resolves(instance(false));
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .resolvesOnce(tables({ 'rtb-a': 'i-old', 'rtb-b': 'i-self' }))
      .resolvesOnce(tables({ 'rtb-a': 'i-old', 'rtb-b': 'i-self' }))
      .resolvesOnce(tables({ 'rtb-a': 'i-old', 'rtb-b': 'i-self' }))
      .resolves(tables({ 'rtb-a': 'i-self', 'rtb-b': 'i-self' }));
    // Act
    await promoter().promote({ fencingToken: 4 });
    // Assess
    assert.equal(ec2Mock.commandCalls(ReplaceRouteCommand).length, 1);
    assert.equal(ec2Mock.commandCalls(DescribeRouteTablesCommand).length, 4);
  });

  it('replaces a route that a stale read showed missing (CreateRoute answers RouteAlreadyExists)', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(instance(false));
    ec2Mock
      .on(CreateRouteCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'RouteAlreadyExists' }));
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    ec2Mock
      .on(DescribeRouteTablesCommand)
      .resolvesOnce(tables({ 'rtb-a': 'i-self', 'rtb-b': undefined }))
      .resolves(tables({ 'rtb-a': 'i-self', 'rtb-b': 'i-self' }));
    // Act
    await promoter().promote({ fencingToken: 4 });
    // Assess
    assert.deepEqual(ec2Mock.commandCalls(ReplaceRouteCommand)[0]?.args[0].input, {
      RouteTableId: 'rtb-b',
      DestinationCidrBlock: VIP,
      InstanceId: 'i-self',
    });
  });

  it('wraps AccessDenied in a PromoteError', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(instance(false));
    ec2Mock.on(DescribeRouteTablesCommand).resolves(tables({ 'rtb-a': 'i-old', 'rtb-b': 'i-self' }));
    ec2Mock
      .on(ReplaceRouteCommand)
      .rejects(Object.assign(new Error('no'), { name: 'UnauthorizedOperation' }));
    // Act / Assess
    await assert.rejects(promoter().promote({ fencingToken: 4 }), PromoteError);
  });

  it('fails with a PromoteError, and moves nothing after the failed call, under throttling or 5xx', async () => {
    const error = (name: string) => Object.assign(new Error(name), { name, $fault: 'server' });
    const failOne = {
      DescribeInstances: (name: string) => ec2Mock.on(DescribeInstancesCommand).rejects(error(name)),
      DescribeRouteTables: (name: string) => ec2Mock.on(DescribeRouteTablesCommand).rejects(error(name)),
      ReplaceRoute: (name: string) => ec2Mock.on(ReplaceRouteCommand).rejects(error(name)),
    };
    for (const [call, fail] of Object.entries(failOne)) {
      for (const name of ['RequestLimitExceeded', 'InternalError']) {
        // Prepare
        ec2Mock.reset();
        ec2Mock.on(DescribeInstancesCommand).resolves(instance(false));
        ec2Mock.on(DescribeRouteTablesCommand).resolves(tables({ 'rtb-a': 'i-old', 'rtb-b': undefined }));
        fail(name);
        // Act / Assess
        await assert.rejects(promoter().promote({ fencingToken: 4 }), PromoteError, `${call} ${name}`);
        assert.equal(ec2Mock.commandCalls(CreateRouteCommand).length, 0);
      }
    }
  });
});
