// Where the bake finds and leaves things, derived from stage, account and region only.

export type Architecture = 'x86_64' | 'arm64';

/** The SSM parameter the web and database launch templates resolve at deploy time. */
export function amiParameterName(stage: string): string {
  return `/cloudy/${stage}/app-ami-id`;
}

/**
 * The SSM parameter holding the NAT instance's and the bastion's image, pinned: written once (by the first bake,
 * from the base image it used, or by hand), and changed only on purpose. AWS's public parameter moves whenever AWS
 * publishes an image, and CloudFormation resolves it again on every stack update, which replaced the NAT instance
 * on unrelated deploys (docs/DEPLOY.md, "The NAT and bastion image").
 */
export function natAmiParameterName(stage: string): string {
  return `/cloudy/${stage}/nat-ami-id`;
}

/** AWS's public parameter naming the current Amazon Linux 2023 AMI. */
export function baseImageParameter(architecture: Architecture): string {
  return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;
}

/** One bucket per account and region for every stage's bakes; objects expire after a day. */
export function bakeBucketName(accountId: string, region: string): string {
  return `cloudy-ami-bake-${accountId}-${region}`;
}

/** A sortable id for one bake, from its start time: 20261126T123000Z. */
export function bakeId(startedAt: Date): string {
  return startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function imageName(stage: string, id: string): string {
  return `cloudy-${stage}-${id}`;
}
