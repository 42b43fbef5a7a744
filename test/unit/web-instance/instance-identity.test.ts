import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdentityError, resolveIdentity } from '../../../ec2/metrics/instance-identity';
import type { InstanceMetadata } from '../../../ec2/metrics/instance-metadata';

const metadata = (entries: Record<string, string>): InstanceMetadata => ({
  get: async (path) => entries[path],
});

describe('resolveIdentity', () => {
  it('takes the instance id and the Auto Scaling group from the instance tags in metadata', async () => {
    const resolved = await resolveIdentity(
      metadata({
        'instance-id': 'i-0123456789abcdef0',
        'tags/instance/aws:autoscaling:groupName': 'cloudy-dev-WebGroup-1A2B3C\n',
      }),
    );

    assert.deepEqual(resolved, {
      identity: { instanceId: 'i-0123456789abcdef0', autoScalingGroupName: 'cloudy-dev-WebGroup-1A2B3C' },
    });
  });

  it('goes on without the group, saying why, when the tag is not visible', async () => {
    const resolved = await resolveIdentity(metadata({ 'instance-id': 'i-0123456789abcdef0' }));

    assert.deepEqual(resolved.identity, { instanceId: 'i-0123456789abcdef0' });
    assert.match(resolved.groupMissingReason ?? '', /InstanceMetadataTags/);
  });

  it('fails without an instance id', async () => {
    await assert.rejects(resolveIdentity(metadata({})), IdentityError);
  });
});
