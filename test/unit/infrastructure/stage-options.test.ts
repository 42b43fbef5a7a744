// biome-ignore-all lint/suspicious/noTemplateCurlyInString: serverless variables in serverless.yml, not JavaScript templates
// resources/options.cjs: the package-time decisions from a stage's parameters, as a table of inputs → outputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
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
  options: { param?: string | string[] };
  resolveConfigurationProperty: (path: string[]) => Promise<unknown>;
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<StageOptions & { databaseEngine: string; waf: string }>) & {
  decideOptions: (params: Record<string, unknown>, region: string) => StageOptions;
  checkStageParameters: (params: Record<string, unknown>, known: string[]) => void;
};

const resolveStageOptions = createRequire(import.meta.url)('../../../resources/options.cjs') as Resolver;
const { decideOptions, checkStageParameters } = resolveStageOptions;

const REGION = 'eu-west-1';
// serverless.yml's params.default, as osls resolves them for stage dev (its own variables filled in).
const SERVERLESS_DEFAULTS: Record<string, string> = (() => {
  const text = readFileSync(resolve(import.meta.dirname, '../../../serverless.yml'), 'utf8');
  const block = text.slice(text.indexOf('\n  default:\n'), text.indexOf('\nprovider:'));
  const entries = [...block.matchAll(/^ {4}(\w+): (.*)$/gm)].map(([, name, value]) => [
    name ?? '',
    (value ?? '')
      .replace(/^"(.*)"$/, '$1')
      .replaceAll('${self:service}', 'cloudy')
      .replaceAll('${sls:stage}', 'dev'),
  ]);
  return Object.fromEntries(entries);
})();
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
      assert.throws(() => decideOptions({ ...DEFAULTS, ...change }, REGION), message);
    });
  }

  it("reads each parameter, the stage's own block and the region through osls's variable resolver", async () => {
    // Prepare
    const asked: string[] = [];
    const values: Record<string, unknown> = {
      ...Object.fromEntries(
        Object.entries(SERVERLESS_DEFAULTS).map(([name, value]) => [`param:${name}`, value]),
      ),
      'param:natType': 'gateway',
      'sls:stage': 'dev',
      'self:provider.region': REGION,
    };
    // Act
    const options = await resolveStageOptions({
      options: { param: ['natType=gateway'] },
      resolveConfigurationProperty: async (path) => (path[1] === 'default' ? SERVERLESS_DEFAULTS : undefined),
      resolveVariable: async (name) => {
        asked.push(name);
        return values[name];
      },
    });
    // Assess
    assert.equal(options.nat, 'gateway');
    assert.deepEqual([options.databaseEngine, options.waf], ['instances', 'off']);
    assert.deepEqual(asked.sort(), Object.keys(values).sort());
  });
});

describe('every stage parameter checked at package time', () => {
  it("accepts serverless.yml's defaults, and has a check for each of them", () => {
    // Act / Assess
    assert.doesNotThrow(() => checkStageParameters(SERVERLESS_DEFAULTS, Object.keys(SERVERLESS_DEFAULTS)));
  });

  it('refuses a parameter serverless.yml does not have (a typo), naming it and its value', () => {
    // Act / Assess
    assert.throws(
      () => checkStageParameters({ ...SERVERLESS_DEFAULTS, wfa: 'on' }, Object.keys(SERVERLESS_DEFAULTS)),
      {
        message:
          'stage parameter wfa is "on": expected no such parameter (not in serverless.yml\'s params.default; a typo?)',
      },
    );
  });

  it('refuses a parameter of params.default that has no check', () => {
    // Act / Assess
    assert.throws(
      () =>
        checkStageParameters({ ...SERVERLESS_DEFAULTS, newOption: 'x' }, [
          ...Object.keys(SERVERLESS_DEFAULTS),
          'newOption',
        ]),
      /stage parameter newOption has no check in resources\/options.cjs/,
    );
  });

  const refused: [Record<string, string>, string][] = [
    [{ waf: 'true' }, 'stage parameter waf is "true": expected "off" or "on"'],
    [{ webMinSize: 'abc' }, 'stage parameter webMinSize is "abc": expected a whole number from 1 to 100'],
    [{ webMinSize: '4' }, 'stage parameter webMinSize is "4": expected at most webMaxSize (3)'],
    [{ logRetentionInDays: '10' }, 'stage parameter logRetentionInDays is "10": expected one of CloudWatch'],
    [{ vpcCidr: '10.0.0.0' }, 'stage parameter vpcCidr is "10.0.0.0": expected an IPv4 CIDR'],
    [
      { webInstanceType: 'large' },
      'stage parameter webInstanceType is "large": expected an EC2 instance type',
    ],
    [
      { databaseDesiredCapacity: '3' },
      'stage parameter databaseDesiredCapacity is "3": expected a whole number from 1 to 2',
    ],
    [
      { auroraEngineMajorVersion: '17' },
      'stage parameter auroraEngineMajorVersion is "17": expected the major version of auroraEngineVersion (16.6)',
    ],
    [
      { auroraMinCapacity: '0.3' },
      'stage parameter auroraMinCapacity is "0.3": expected Aurora capacity units',
    ],
    [
      { authIssuer: 'http://issuer.example.com' },
      'stage parameter authIssuer is "http://issuer.example.com": expected empty or an https:// URL',
    ],
    [
      { authIssuer: 'https://issuer.example.com' },
      'stage parameter authAudience is "": expected set together with authIssuer',
    ],
    [
      { wafRateLimit: '5' },
      'stage parameter wafRateLimit is "5": expected a whole number from 10 to 2000000000',
    ],
  ];
  for (const [change, line] of refused) {
    it(`refuses ${JSON.stringify(change)} with one line naming the parameter, its value and what is allowed`, () => {
      // Act / Assess
      assert.throws(
        () => checkStageParameters({ ...SERVERLESS_DEFAULTS, ...change }, Object.keys(SERVERLESS_DEFAULTS)),
        (error: Error) => {
          assert.ok(error.message.startsWith(line), error.message);
          assert.equal(error.message.split('\n').length, 1);
          // osls prints a failing source's stack: it must be the message alone, not a trace.
          assert.equal(error.stack, error.message);
          return true;
        },
      );
    });
  }
});
