// The stage variants a user can choose, as stage parameters: the one list `npm run test:aws` packages, lints and
// deploys (test/aws/). Every option flipped means every stage parameter that changes what the template holds.

/** A stage's parameters and region, as `sls package`/`deploy` get them on the command line. */
export interface StageVariant {
  name: string;
  params: Record<string, string>;
  region: string;
}

export const DEFAULT_REGION = 'eu-west-1';
export const CERTIFICATE_ARN =
  'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000';

export const EVERY_OPTION: Record<string, string> = {
  adminCidr: '203.0.113.7/32',
  keyName: 'cloudy-ops',
  certificateArn: CERTIFICATE_ARN,
  natType: 'gateway',
  secretsAccountId: '444455556666',
  dbSecretRegion: 'eu-central-1',
  ec2Endpoint: 'false',
  alarmEmail: 'ops@example.com',
  waf: 'on',
  wafRateLimit: '500',
  authIssuer: 'https://issuer.example.com',
  authAudience: 'cloudy',
  backupRetentionDays: '14',
  logRetentionInDays: '7',
};

export const AURORA_OPTIONS: Record<string, string> = {
  databaseEngine: 'aurora',
  backupRetentionDays: '14',
  auroraEngineVersion: '17.4',
  auroraEngineMajorVersion: '17',
  auroraInstanceClass: 'db.serverless',
  auroraMinCapacity: '1',
  auroraMaxCapacity: '8',
  auroraMasterUsername: 'operator',
  adminCidr: '203.0.113.7/32',
  natType: 'gateway',
  alarmEmail: 'ops@example.com',
  waf: 'on',
};

export const STAGE_VARIANTS: StageVariant[] = [
  { name: 'default', params: {}, region: DEFAULT_REGION },
  { name: 'every option', params: EVERY_OPTION, region: DEFAULT_REGION },
  { name: 'aurora', params: { databaseEngine: 'aurora' }, region: DEFAULT_REGION },
  { name: 'aurora with its options', params: AURORA_OPTIONS, region: DEFAULT_REGION },
  { name: 'us-east-1', params: {}, region: 'us-east-1' },
];
