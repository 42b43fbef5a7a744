// The stage variants a user can choose, as stage parameters: the one list `npm run test:aws` packages, lints and
// deploys (test/aws/). Every option flipped means every stage parameter that changes what the template holds.

/** A stage's parameters and region, as `sls package`/`deploy` get them on the command line. */
export interface StageVariant {
  name: string;
  params: Record<string, string>;
  region: string;
}

export const DEFAULT_REGION = 'eu-west-1';
export const ADMIN_CIDR = '203.0.113.7/32';
export const CERTIFICATE_ARN =
  'arn:aws:acm:eu-west-1:111122223333:certificate/00000000-0000-0000-0000-000000000000';

/** Every option of the network, access and secret location away from its default (template.test.ts). */
export const ACCESS_OPTIONS: Record<string, string> = {
  adminCidr: ADMIN_CIDR,
  keyName: 'cloudy-ops',
  certificateArn: CERTIFICATE_ARN,
  natType: 'gateway',
  secretsAccountId: '444455556666',
  dbSecretRegion: 'eu-central-1',
  ec2Endpoint: 'false',
  alarmEmail: 'ops@example.com',
};

/** Every stage option away from its default. */
export const EVERY_OPTION: Record<string, string> = {
  ...ACCESS_OPTIONS,
  waf: 'on',
  wafRateLimit: '500',
  authIssuer: 'https://issuer.example.com',
  authAudience: 'cloudy',
  backupRetentionDays: '14',
  logRetentionInDays: '7',
};

/** Every aurora option away from its default, with the options that add instance-tier pieces with instances. */
export const AURORA_OPTIONS: Record<string, string> = {
  databaseEngine: 'aurora',
  backupRetentionDays: '14',
  auroraEngineVersion: '17.4',
  auroraEngineMajorVersion: '17',
  auroraInstanceClass: 'db.serverless',
  auroraMinCapacity: '1',
  auroraMaxCapacity: '8',
  auroraMasterUsername: 'operator',
  // Options that add instance-tier pieces with the instance tier (an SSH rule into the database group, the NAT
  // rule for the database instances) and the alarm subscription, which aurora has too.
  adminCidr: ADMIN_CIDR,
  natType: 'gateway',
  alarmEmail: 'ops@example.com',
};

export const STAGE_VARIANTS: StageVariant[] = [
  { name: 'default', params: {}, region: DEFAULT_REGION },
  { name: 'every option', params: EVERY_OPTION, region: DEFAULT_REGION },
  { name: 'aurora', params: { databaseEngine: 'aurora' }, region: DEFAULT_REGION },
  { name: 'aurora with its options', params: { ...AURORA_OPTIONS, waf: 'on' }, region: DEFAULT_REGION },
  { name: 'us-east-1', params: {}, region: 'us-east-1' },
];
