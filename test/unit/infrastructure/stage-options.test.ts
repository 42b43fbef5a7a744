// resources/options.cjs: the package-time decisions from a stage's parameters, as a table of inputs → outputs.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

interface StageOptions {
  nat: string;
  ec2Endpoint: string;
  bastion: string;
  listeners: string;
  appListener: unknown;
  keyName: unknown;
  secretsAccountId: unknown;
  dbSecretRegion: unknown;
  alarmEmailSubscription: string;
  monitoring: string;
  alarmEmail: string;
  bastionDatabaseSsh: string;
  natDatabaseHttps: string;
  webScaling: string;
}
type Resolver = ((input: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<StageOptions>) & {
  decideOptions: (params: Record<string, unknown>, region: string) => StageOptions;
};

const resolveStageOptions = createRequire(import.meta.url)('../../../resources/options.cjs') as Resolver;
const { decideOptions } = resolveStageOptions;

const REGION = 'eu-west-1';
// The defaults of serverless.yml's params.default.
const DEFAULTS = {
  natType: 'instance',
  ec2Endpoint: 'true',
  adminCidr: '',
  certificateArn: '',
  keyName: '',
  secretsAccountId: '',
  dbSecretRegion: '',
  alarmEmail: '',
  databaseEngine: 'instances',
  backupRetentionDays: '35',
  webScalingPolicy: 'step',
};
const CERTIFICATE = 'arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-0000-0000-000000000000';

describe('resources/options.cjs', () => {
  it('picks the default variants and leaves optional values to CloudFormation for the default stage', () => {
    // Act / Assess
    assert.deepEqual(decideOptions(DEFAULTS, REGION), {
      nat: 'instance',
      ec2Endpoint: 'on',
      bastion: 'off',
      listeners: 'http',
      appListener: { Ref: 'HttpListener' },
      keyName: { Ref: 'AWS::NoValue' },
      secretsAccountId: { Ref: 'AWS::AccountId' },
      dbSecretRegion: { Ref: 'AWS::Region' },
      alarmEmailSubscription: 'off',
      monitoring: 'instances',
      alarmEmail: '',
      bastionDatabaseSsh: 'off',
      natDatabaseHttps: 'on',
      webScaling: 'step',
    });
  });

  it('picks the other variant of every option, and passes set values through', () => {
    // Act
    const options = decideOptions(
      {
        natType: 'gateway',
        ec2Endpoint: false, // YAML may give a boolean
        adminCidr: '203.0.113.7/32',
        certificateArn: CERTIFICATE,
        keyName: 'ops',
        secretsAccountId: 444455556666,
        dbSecretRegion: 'eu-central-1',
        alarmEmail: 'ops@example.com',
        databaseEngine: 'instances',
        backupRetentionDays: 90, // AWS Backup keeps a recovery point as long as asked
        webScalingPolicy: 'cpu-target',
      },
      REGION,
    );
    // Assess
    assert.deepEqual(options, {
      nat: 'gateway',
      ec2Endpoint: 'off',
      bastion: 'on',
      listeners: 'https',
      appListener: { Ref: 'HttpsListener' },
      keyName: 'ops',
      secretsAccountId: '444455556666',
      dbSecretRegion: 'eu-central-1',
      alarmEmailSubscription: 'on',
      monitoring: 'instances',
      alarmEmail: 'ops@example.com',
      bastionDatabaseSsh: 'on',
      natDatabaseHttps: 'off',
      webScaling: 'cpu-target',
    });
  });

  it('leaves out every network piece of the instance tier with aurora, whatever the other options say', () => {
    const withInstanceOptions = {
      ...DEFAULTS,
      ec2Endpoint: 'true',
      adminCidr: '203.0.113.7/32',
      natType: 'instance',
      alarmEmail: 'ops@example.com',
    };
    const instances = decideOptions(withInstanceOptions, REGION);
    const aurora = decideOptions({ ...withInstanceOptions, databaseEngine: 'aurora' }, REGION);
    assert.deepEqual(
      [instances.ec2Endpoint, instances.bastionDatabaseSsh, instances.natDatabaseHttps, instances.monitoring],
      ['on', 'on', 'on', 'instances'],
    );
    assert.deepEqual(
      [aurora.ec2Endpoint, aurora.bastionDatabaseSsh, aurora.natDatabaseHttps, aurora.monitoring],
      ['off', 'off', 'off', 'aurora'],
    );
    // The bastion itself and the alarm subscription stay: they serve the web tier and the aurora alarms.
    assert.deepEqual([aurora.bastion, aurora.alarmEmailSubscription], ['on', 'on']);
  });

  const rejected: [string, Record<string, unknown>, RegExp][] = [
    [
      'a NAT type it has no fragment for',
      { natType: 'nat-gateway' },
      /natType is "nat-gateway": expected "instance" or "gateway"/,
    ],
    ['an endpoint switch other than true/false', { ec2Endpoint: 'yes' }, /ec2Endpoint is "yes"/],
    [
      'an admin CIDR that is not one',
      { adminCidr: '203.0.113.7' },
      /adminCidr is "203.0.113.7": expected empty/,
    ],
    ['an admin CIDR open to the world', { adminCidr: '0.0.0.0/0' }, /adminCidr is "0.0.0.0\/0"/],
    ['an octet out of range', { adminCidr: '203.0.113.256/32' }, /adminCidr/],
    ['a certificate that is not an ACM ARN', { certificateArn: 'my-cert' }, /certificateArn is "my-cert"/],
    [
      "a certificate outside the stack's region",
      { certificateArn: CERTIFICATE.replace('eu-west-1', 'us-east-1') },
      /a certificate in the stack's region eu-west-1, not us-east-1/,
    ],
    ['an account id that is not 12 digits', { secretsAccountId: '1234' }, /secretsAccountId is "1234"/],
    ['a region that is not one', { dbSecretRegion: 'Frankfurt' }, /dbSecretRegion is "Frankfurt"/],
    ['an alarm address that is not one', { alarmEmail: 'ops at example' }, /alarmEmail is "ops at example"/],
    [
      'a backup retention that is no number of days',
      { backupRetentionDays: '0' },
      /backupRetentionDays is "0"/,
    ],
    [
      'a backup retention longer than Aurora keeps backups, with aurora',
      { databaseEngine: 'aurora', backupRetentionDays: 36 },
      /backupRetentionDays is "36": expected at most 35 with databaseEngine "aurora"/,
    ],
    [
      'a web scaling policy it has no fragment for',
      { webScalingPolicy: 'target' },
      /webScalingPolicy is "target": expected "step", "cpu-target" or "request-target"/,
    ],
    [
      'a database engine that is neither',
      { databaseEngine: 'rds' },
      /databaseEngine is "rds": expected "instances" or "aurora"/,
    ],
  ];
  for (const [what, change, message] of rejected) {
    it(`stops the package with a message naming the parameter for ${what}`, () => {
      // Act / Assess
      assert.throws(() => decideOptions({ ...DEFAULTS, ...change }, REGION), message);
    });
  }

  it("reads each parameter and the region through osls's variable resolver", async () => {
    // Prepare
    const asked: string[] = [];
    const values: Record<string, unknown> = {
      ...Object.fromEntries(Object.entries(DEFAULTS).map(([name, value]) => [`param:${name}`, value])),
      'param:natType': 'gateway',
      'self:provider.region': REGION,
    };
    // Act
    const options = await resolveStageOptions({
      resolveVariable: async (name) => {
        asked.push(name);
        return values[name];
      },
    });
    // Assess
    assert.equal(options.nat, 'gateway');
    assert.deepEqual(asked.sort(), Object.keys(values).sort());
  });
});
