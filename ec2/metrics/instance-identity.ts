import type { InstanceMetadata } from './instance-metadata';
import type { InstanceIdentity } from './metric-data';

export class IdentityError extends Error {}

// The group name comes from the instance's tags in IMDS (the launch template enables InstanceMetadataTags):
// no IAM permission and no Auto Scaling API client needed on the instance, and it cannot be throttled.
const GROUP_TAG_PATH = 'tags/instance/aws:autoscaling:groupName';

export interface ResolvedIdentity {
  identity: InstanceIdentity;
  /** Why the group dimension is missing, for a warning at start; undefined when it is present. */
  groupMissingReason?: string;
}

export async function resolveIdentity(metadata: InstanceMetadata): Promise<ResolvedIdentity> {
  const instanceId = (await metadata.get('instance-id'))?.trim();
  if (!instanceId) throw new IdentityError('instance metadata has no instance-id');
  const group = (await metadata.get(GROUP_TAG_PATH))?.trim();
  if (group) return { identity: { instanceId, autoScalingGroupName: group } };
  return {
    identity: { instanceId },
    groupMissingReason:
      'no aws:autoscaling:groupName tag in instance metadata: the instance is not in an Auto Scaling group ' +
      'or its launch template does not set MetadataOptions.InstanceMetadataTags to enabled',
  };
}
