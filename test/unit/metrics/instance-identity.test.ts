import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { IdentityError, resolveIdentity } from '../../../ec2/metrics/instance-identity';
import type { InstanceMetadata } from '../../../ec2/metrics/instance-metadata';

const autoScaling = mockClient(AutoScalingClient);
const INSTANCE = 'i-0123456789abcdef0';

const metadata = (entries: Record<string, string>): InstanceMetadata => ({
  get: async (path) => entries[path],
});

describe('resolveIdentity', () => {
  beforeEach(() => {
    autoScaling.reset();
  });

  it('takes the group from the instance tags in metadata without calling Auto Scaling', async () => {
    // Act
    const resolved = await resolveIdentity(
      metadata({ 'instance-id': INSTANCE, 'tags/instance/aws:autoscaling:groupName': 'cloudy-dev-web\n' }),
      new AutoScalingClient({}),
    );

    // Assess
    assert.deepEqual(resolved, {
      identity: { instanceId: INSTANCE, autoScalingGroupName: 'cloudy-dev-web' },
    });
    assert.equal(autoScaling.calls().length, 0);
  });

  it('asks Auto Scaling for the group when the tags are not in metadata', async () => {
    // Prepare
    autoScaling.on(DescribeAutoScalingInstancesCommand, { InstanceIds: [INSTANCE] }).resolves({
      AutoScalingInstances: [
        {
          InstanceId: INSTANCE,
          AutoScalingGroupName: 'cloudy-dev-web',
          AvailabilityZone: 'eu-west-1a',
          LifecycleState: 'Pending:Wait',
          HealthStatus: 'HEALTHY',
          ProtectedFromScaleIn: false,
        },
      ],
    });

    // Act
    const resolved = await resolveIdentity(metadata({ 'instance-id': INSTANCE }), new AutoScalingClient({}));

    // Assess
    assert.deepEqual(resolved.identity, { instanceId: INSTANCE, autoScalingGroupName: 'cloudy-dev-web' });
  });

  it('goes on with the instance id alone, saying why, outside any group', async () => {
    // Prepare
    autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });

    // Act
    const resolved = await resolveIdentity(metadata({ 'instance-id': INSTANCE }), new AutoScalingClient({}));

    // Assess
    assert.deepEqual(resolved.identity, { instanceId: INSTANCE });
    assert.match(resolved.groupMissingReason ?? '', /not in an Auto Scaling group/);
  });

  it('fails with a named error when Auto Scaling refuses, so that the service starts again later', async () => {
    // Prepare
    autoScaling
      .on(DescribeAutoScalingInstancesCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));

    // Act / Assess
    await assert.rejects(
      resolveIdentity(metadata({ 'instance-id': INSTANCE }), new AutoScalingClient({})),
      (error: unknown) => error instanceof IdentityError && error.cause instanceof Error,
    );
  });

  it('fails without an instance id', async () => {
    await assert.rejects(resolveIdentity(metadata({}), new AutoScalingClient({})), IdentityError);
  });
});
