import { type AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import type { InstanceMetadata } from './instance-metadata';
import type { InstanceIdentity } from './metric-data';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

// First choice: the instance's own tags in IMDS (when the launch template sets InstanceMetadataTags):
// no API call, nothing to throttle. Otherwise one DescribeAutoScalingInstances call (the web role grants it).
const GROUP_TAG_PATH = 'tags/instance/aws:autoscaling:groupName';

interface ResolvedIdentity {
  identity: InstanceIdentity;
  /** Why the group dimension is missing, for a warning at start; undefined when it is present. */
  groupMissingReason?: string;
}

/** Who this instance is. Throws IdentityError when it cannot tell (the caller exits; systemd retries). */
export async function resolveIdentity(
  metadata: InstanceMetadata,
  autoScaling: AutoScalingClient,
): Promise<ResolvedIdentity> {
  const instanceId = (await metadata.get('instance-id'))?.trim();
  if (!instanceId) throw new IdentityError('instance metadata has no instance-id');
  const tagged = (await metadata.get(GROUP_TAG_PATH))?.trim();
  if (tagged) return { identity: { instanceId, autoScalingGroupName: tagged } };

  let described: string | undefined;
  try {
    const response = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
    );
    described = response.AutoScalingInstances?.[0]?.AutoScalingGroupName;
  } catch (error) {
    throw new IdentityError(`DescribeAutoScalingInstances failed for ${instanceId}`, { cause: error });
  }
  if (described) return { identity: { instanceId, autoScalingGroupName: described } };
  return {
    identity: { instanceId },
    groupMissingReason: `${instanceId} is not in an Auto Scaling group: metrics carry the instance id only`,
  };
}
