import type { ParseArgsOptionsConfig } from 'node:util';
import { AWS_OPTIONS, type AwsSession, awsOptionsUsage } from '../../shared/command-aws';
import type { CommandLine, CommandSpec } from '../../shared/command-line';
import { UsageError } from '../../shared/command-line';
import type { Architecture } from './names';

export interface BakeOptions {
  stage: string;
  region: string;
  architecture: Architecture;
  instanceType: string;
  /** Where the builder runs; the default VPC's default subnet when absent. It needs outbound HTTPS. */
  subnetId?: string;
  /** Overrides the per-account bucket (bakeBucketName) that carries the bundle to the builder. */
  bucket?: string;
}

export const BAKE_AMI = {
  name: 'bake-ami',
  usage: `usage: npm run bake-ami -- --stage NAME [--region REGION] [--profile NAME] [--arch x86_64|arm64]
                        [--instance-type TYPE] [--subnet-id SUBNET] [--bucket BUCKET]

Builds the bundle (npm run build), starts a builder instance from the latest Amazon Linux 2023 image, installs
the bundle and PostgreSQL on it, makes an AMI and writes its id to the SSM parameter /cloudy/NAME/app-ami-id.
Ctrl-C stops the bake and removes what it created.

  --stage NAME           the stage whose AMI parameter is written
  --arch ARCH            x86_64 (default) or arm64
  --instance-type TYPE   the builder (default t3.micro, t4g.micro for arm64)
  --subnet-id SUBNET     where the builder runs (default: the default VPC's default subnet); needs outbound HTTPS
  --bucket BUCKET        carries the bundle to the builder (default: cloudy-ami-bake-ACCOUNT-REGION)
${awsOptionsUsage()}`,
  options: {
    stage: { type: 'string' },
    ...AWS_OPTIONS,
    arch: { type: 'string' },
    'instance-type': { type: 'string' },
    'subnet-id': { type: 'string' },
    bucket: { type: 'string' },
  },
} as const satisfies CommandSpec<ParseArgsOptionsConfig>;

// The web tier's default instance types (t3.*) are x86_64; an arm64 AMI needs Graviton types (t4g.*) there too.
const DEFAULT_INSTANCE_TYPE: Record<Architecture, string> = { x86_64: 't3.micro', arm64: 't4g.micro' };

/** The bake's options from its parsed command line and the session's region. */
export function bakeOptions(
  values: CommandLine<typeof BAKE_AMI.options>['values'],
  session: Pick<AwsSession, 'region'>,
): BakeOptions {
  const stage = values.stage;
  if (!stage) throw new UsageError('--stage is required');
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) throw new UsageError(`--stage ${stage}: letters, digits and - only`);
  const architecture = values.arch ?? 'x86_64';
  if (architecture !== 'x86_64' && architecture !== 'arm64') {
    throw new UsageError(`--arch ${architecture}: x86_64 or arm64`);
  }
  return {
    stage,
    region: session.region,
    architecture,
    instanceType: values['instance-type'] ?? DEFAULT_INSTANCE_TYPE[architecture],
    ...(values['subnet-id'] ? { subnetId: values['subnet-id'] } : {}),
    ...(values.bucket ? { bucket: values.bucket } : {}),
  };
}
