import { parseArgs } from 'node:util';
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

export class UsageError extends Error {}

export const USAGE = `usage: npm run bake-ami -- --stage NAME [--region REGION] [--arch x86_64|arm64]
                        [--instance-type TYPE] [--subnet-id SUBNET] [--bucket BUCKET]`;

// The web tier's default instance types (t3.*) are x86_64; an arm64 AMI needs Graviton types (t4g.*) there too.
const DEFAULT_INSTANCE_TYPE: Record<Architecture, string> = { x86_64: 't3.micro', arm64: 't4g.micro' };

/** Reads the command line once; the region falls back to the SDK's variables, then to the project default. */
export function parseBakeOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BakeOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stage: { type: 'string' },
        region: { type: 'string' },
        arch: { type: 'string' },
        'instance-type': { type: 'string' },
        'subnet-id': { type: 'string' },
        bucket: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const stage = values.stage;
  if (!stage) throw new UsageError(`--stage is required\n${USAGE}`);
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) throw new UsageError(`--stage ${stage}: letters, digits and - only`);
  const architecture = values.arch ?? 'x86_64';
  if (architecture !== 'x86_64' && architecture !== 'arm64') {
    throw new UsageError(`--arch ${architecture}: x86_64 or arm64`);
  }
  return {
    stage,
    region: values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'eu-west-1',
    architecture,
    instanceType: values['instance-type'] ?? DEFAULT_INSTANCE_TYPE[architecture],
    ...(values['subnet-id'] ? { subnetId: values['subnet-id'] } : {}),
    ...(values.bucket ? { bucket: values.bucket } : {}),
  };
}
