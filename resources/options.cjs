// The stage options that add or remove resources or a property, decided at package time (docs/DEPLOY.md,
// "How stage options reach the template"). serverless.yml reads this once as `custom.options`; each option picks
// a fragment file (`resources/<concern>-<variant>.yml`) or a plain value, so the packaged template holds no
// CloudFormation Conditions that compare two constants. A value that fits no variant stops `sls package` with
// a message naming the parameter.
'use strict';

const NO_VALUE = { Ref: 'AWS::NoValue' };
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// What SNS takes as an email endpoint, roughly: one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const WEB_SCALING_POLICIES = ['step', 'cpu-target', 'request-target'];

// osls prints a failing variable source's `stack`: the message alone, so that the user reads one line and no trace.
class StageOptionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StageOptionError';
    this.stack = message;
  }
}

function fail(parameter, value, expected) {
  throw new StageOptionError(
    `stage parameter ${parameter} is ${JSON.stringify(value)}: expected ${expected}`,
  );
}

function isCidr(value) {
  const match = CIDR.exec(value);
  if (!match) return false;
  const octets = match.slice(1, 5).map(Number);
  return octets.every((octet) => octet <= 255) && Number(match[5]) <= 32;
}

/**
 * The package-time decisions for one stage, from its parameters (as strings) and the stack's region.
 * Pure: serverless.yml calls it through the default export below, the tests call it directly.
 */
function decideOptions(params, region) {
  const text = (name) => (params[name] === undefined || params[name] === null ? '' : String(params[name]));

  const natType = text('natType');
  if (natType !== 'instance' && natType !== 'gateway') fail('natType', natType, '"instance" or "gateway"');

  const ec2Endpoint = text('ec2Endpoint');
  if (ec2Endpoint !== 'true' && ec2Endpoint !== 'false')
    fail('ec2Endpoint', ec2Endpoint, '"true" or "false"');

  // No admin CIDR, no bastion: there is no default that opens SSH to the world.
  const adminCidr = text('adminCidr');
  if (adminCidr !== '' && (!isCidr(adminCidr) || adminCidr.endsWith('/0'))) {
    fail('adminCidr', adminCidr, 'empty (no bastion) or an IPv4 CIDR narrower than /0, e.g. 203.0.113.7/32');
  }

  // An ALB takes only certificates of its own region (ACM certificates are regional).
  const certificateArn = text('certificateArn');
  if (certificateArn !== '') {
    const match = ACM_ARN.exec(certificateArn);
    if (!match) fail('certificateArn', certificateArn, 'empty (HTTP only) or an ACM certificate ARN');
    if (match[1] !== region) {
      fail(
        'certificateArn',
        certificateArn,
        `a certificate in the stack's region ${region}, not ${match[1]}`,
      );
    }
  }

  const secretsAccountId = text('secretsAccountId');
  if (secretsAccountId !== '' && !ACCOUNT_ID.test(secretsAccountId)) {
    fail('secretsAccountId', secretsAccountId, 'empty (this account) or a 12-digit account id');
  }
  const dbSecretRegion = text('dbSecretRegion');
  if (dbSecretRegion !== '' && !REGION.test(dbSecretRegion)) {
    fail('dbSecretRegion', dbSecretRegion, "empty (the stack's region) or a region name");
  }

  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== '' && !EMAIL.test(alarmEmail)) {
    fail('alarmEmail', alarmEmail, 'empty (no subscription) or an email address');
  }

  const databaseEngine = text('databaseEngine');
  if (databaseEngine !== 'instances' && databaseEngine !== 'aurora')
    fail('databaseEngine', databaseEngine, '"instances" or "aurora"');

  // One retention for the database tier's backups in both engines; Aurora keeps continuous backups 1 to 35 days.
  const backupRetentionDays = text('backupRetentionDays');
  if (!/^\d+$/.test(backupRetentionDays) || Number(backupRetentionDays) < 1) {
    fail('backupRetentionDays', backupRetentionDays, 'a whole number of days, at least 1');
  }
  if (databaseEngine === 'aurora' && Number(backupRetentionDays) > 35) {
    fail(
      'backupRetentionDays',
      backupRetentionDays,
      'at most 35 with databaseEngine "aurora" (its backup window)',
    );
  }

  // Rehearsed and compared in docs/LOADTEST.md; each names resources/web-scaling-<policy>.yml.
  const webScalingPolicy = text('webScalingPolicy');
  if (!WEB_SCALING_POLICIES.includes(webScalingPolicy)) {
    fail(
      'webScalingPolicy',
      webScalingPolicy,
      WEB_SCALING_POLICIES.map((p) => `"${p}"`)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1'),
    );
  }

  const https = certificateArn !== '';
  const keyName = text('keyName');
  const bastion = adminCidr !== '';
  // The instance tier's network needs: its instances call the EC2 API (fencing, the virtual-IP route) and AWS
  // APIs through the NAT instance, and admit SSH from the bastion. With Aurora none of these exist, whatever the
  // other options say (ec2Endpoint is then ignored).
  const instanceTier = databaseEngine === 'instances';
  return {
    // Fragment variants: resources/nat-<nat>.yml, ec2-endpoint-<…>.yml, bastion-<…>.yml, listeners-<…>.yml,
    // alarm-email-<…>.yml, monitoring-<…>.yml (the database tier's alarms and the dashboard),
    // bastion-database-ssh-<…>.yml, nat-database-https-<…>.yml, web-scaling-<…>.yml.
    nat: natType,
    ec2Endpoint: instanceTier && ec2Endpoint === 'true' ? 'on' : 'off',
    bastion: bastion ? 'on' : 'off',
    bastionDatabaseSsh: instanceTier && bastion ? 'on' : 'off',
    natDatabaseHttps: instanceTier && natType === 'instance' ? 'on' : 'off',
    listeners: https ? 'https' : 'http',
    alarmEmailSubscription: alarmEmail === '' ? 'off' : 'on',
    monitoring: databaseEngine,
    webScaling: webScalingPolicy,
    // The listener that serves the app, where the api function's /lambda rule goes: with a certificate, 8080
    // only redirects to HTTPS.
    appListener: { Ref: https ? 'HttpsListener' : 'HttpListener' },
    // Property values: AWS::NoValue leaves KeyName out, as if it were not written.
    keyName: keyName === '' ? NO_VALUE : keyName,
    secretsAccountId: secretsAccountId === '' ? { Ref: 'AWS::AccountId' } : secretsAccountId,
    dbSecretRegion: dbSecretRegion === '' ? { Ref: 'AWS::Region' } : dbSecretRegion,
    // Read by resources/alarm-email-on.yml only.
    alarmEmail,
  };
}

// Every stage parameter of serverless.yml's params.default, with what it accepts: a check returns undefined when
// the value fits, else what is allowed (the one line the user reads). Values arrive as strings from --param and as
// YAML scalars from params blocks. decideOptions above checks the ones that pick fragments; these are the rest.
const WHOLE = /^\d+$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const SSM_NAME = /^\/[A-Za-z0-9_.\-/]+$/;
// CloudWatch Logs' accepted retention periods (PutRetentionPolicy, retentionInDays).
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const whole = (min, max) => (value) =>
  WHOLE.test(value) && Number(value) >= min && Number(value) <= max
    ? undefined
    : `a whole number from ${min} to ${max}`;
const pattern = (regex, allowed) => (value) => (regex.test(value) ? undefined : allowed);
const oneOf =
  (...values) =>
  (value) =>
    values.includes(value) ? undefined : values.map((v) => JSON.stringify(v)).join(' or ');
const cidr = (value) => (isCidr(value) ? undefined : 'an IPv4 CIDR such as 10.0.1.0/24');
const httpsUrlOrEmpty = (value) =>
  value === '' || /^https:\/\/[^\s/]+(\/\S*)?$/.test(value) ? undefined : 'empty or an https:// URL';
const acus = (value) =>
  /^\d+(\.5|\.0)?$/.test(value) && Number(value) >= 0 && Number(value) <= 256
    ? undefined
    : 'Aurora capacity units from 0 to 256 in steps of 0.5';
const passedToDecideOptions = () => undefined;

const CHECKS = {
  virtualIp: pattern(
    /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/,
    'an IPv4 address outside the VPC range, e.g. 10.10.10.10',
  ),
  vpcCidr: cidr,
  publicSubnetACidr: cidr,
  publicSubnetBCidr: cidr,
  privateSubnetACidr: cidr,
  privateSubnetBCidr: cidr,
  natType: passedToDecideOptions,
  ec2Endpoint: passedToDecideOptions,
  logRetentionInDays: (value) =>
    LOG_RETENTION_DAYS.includes(Number(value)) && WHOLE.test(value)
      ? undefined
      : `one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
  natInstanceType: pattern(INSTANCE_TYPE, 'an EC2 instance type such as t3.micro'),
  bastionInstanceType: pattern(INSTANCE_TYPE, 'an EC2 instance type such as t3.micro'),
  webInstanceType: pattern(INSTANCE_TYPE, 'an EC2 instance type such as t3.micro'),
  databaseInstanceType: pattern(INSTANCE_TYPE, 'an EC2 instance type such as t3.micro'),
  keyName: pattern(/^[\x20-\x7e]{0,255}$/, 'empty (no key) or the name of an EC2 key pair'),
  adminCidr: passedToDecideOptions,
  certificateArn: passedToDecideOptions,
  webMinSize: whole(1, 100),
  webMaxSize: whole(1, 100),
  databaseMinSize: whole(1, 2),
  databaseMaxSize: whole(1, 2),
  databaseDesiredCapacity: whole(1, 2),
  appAmiParameter: pattern(SSM_NAME, 'an SSM parameter name starting with /'),
  natAmiParameter: pattern(SSM_NAME, 'an SSM parameter name starting with /'),
  secretsAccountId: passedToDecideOptions,
  dbSecretRegion: passedToDecideOptions,
  databaseEngine: passedToDecideOptions,
  auroraEngineVersion: pattern(/^\d+\.\d+$/, 'an Aurora PostgreSQL version such as 16.6'),
  auroraEngineMajorVersion: pattern(/^\d+$/, 'the major version of auroraEngineVersion, such as 16'),
  auroraInstanceClass: pattern(
    /^db\.[a-z0-9]+(\.[a-z0-9]+)?$/,
    'an RDS class such as db.t4g.medium, or db.serverless',
  ),
  auroraMinCapacity: acus,
  auroraMaxCapacity: acus,
  auroraMasterUsername: pattern(
    /^[a-z][a-z0-9_]{0,62}$/,
    'a PostgreSQL user name: a lowercase letter, then up to 62 lowercase letters, digits or _',
  ),
  webProcesses: whole(1, 64),
  dbPoolMax: whole(1, 1000),
  apiReservedConcurrency: whole(1, 1000),
  dbMaxConnections: whole(10, 10000),
  backupRetentionDays: passedToDecideOptions,
  webScalingPolicy: passedToDecideOptions,
  waf: oneOf('off', 'on'),
  // AWS WAF's rate-based rule limit (RateBasedStatement.Limit).
  wafRateLimit: whole(10, 2000000000),
  authIssuer: httpsUrlOrEmpty,
  authAudience: pattern(/^\S*$/, 'empty or an audience without spaces'),
  authJwksUrl: httpsUrlOrEmpty,
  alarmEmail: passedToDecideOptions,
};

/** The checks that relate two parameters; each returns [parameter, value, allowed] or undefined. */
function crossChecks(text) {
  const problems = [];
  const number = (name) => Number(text(name));
  if (number('webMinSize') > number('webMaxSize'))
    problems.push(['webMinSize', text('webMinSize'), `at most webMaxSize (${text('webMaxSize')})`]);
  if (
    number('databaseMinSize') > number('databaseDesiredCapacity') ||
    number('databaseDesiredCapacity') > number('databaseMaxSize')
  ) {
    problems.push([
      'databaseDesiredCapacity',
      text('databaseDesiredCapacity'),
      `from databaseMinSize (${text('databaseMinSize')}) to databaseMaxSize (${text('databaseMaxSize')})`,
    ]);
  }
  if (number('auroraMinCapacity') > number('auroraMaxCapacity'))
    problems.push([
      'auroraMinCapacity',
      text('auroraMinCapacity'),
      `at most auroraMaxCapacity (${text('auroraMaxCapacity')})`,
    ]);
  if (!text('auroraEngineVersion').startsWith(`${text('auroraEngineMajorVersion')}.`)) {
    problems.push([
      'auroraEngineMajorVersion',
      text('auroraEngineMajorVersion'),
      `the major version of auroraEngineVersion (${text('auroraEngineVersion')})`,
    ]);
  }
  if ((text('authIssuer') === '') !== (text('authAudience') === '')) {
    problems.push(['authAudience', text('authAudience'), 'set together with authIssuer (both or neither)']);
  }
  return problems;
}

/**
 * Every stage parameter checked before anything is written: names not in `known` (params.default; a typo such as
 * `wfa`) are refused, and each value must fit its check. Throws a StageOptionError with one line per problem:
 * the parameter, its value, and what is allowed.
 */
function checkStageParameters(params, known) {
  const text = (name) => (params[name] === undefined || params[name] === null ? '' : String(params[name]));
  const lines = [];
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) {
      lines.push(
        `stage parameter ${name} is ${JSON.stringify(text(name))}: expected no such parameter (not in serverless.yml's params.default; a typo?)`,
      );
    }
  }
  for (const name of known) {
    const check = CHECKS[name];
    if (!check) {
      lines.push(`stage parameter ${name} has no check in resources/options.cjs: add one`);
      continue;
    }
    const allowed = check(text(name));
    if (allowed !== undefined)
      lines.push(`stage parameter ${name} is ${JSON.stringify(text(name))}: expected ${allowed}`);
  }
  if (lines.length === 0) {
    for (const [name, value, allowed] of crossChecks(text))
      lines.push(`stage parameter ${name} is ${JSON.stringify(value)}: expected ${allowed}`);
  }
  if (lines.length > 0) throw new StageOptionError(lines.join('\n'));
}

/** `--param name=value` as osls hands them over (a string or a list of them). */
function commandLineParams(param) {
  const found = {};
  for (const entry of [param ?? []].flat()) {
    const at = String(entry).indexOf('=');
    if (at > 0) found[String(entry).slice(0, at)] = String(entry).slice(at + 1);
  }
  return found;
}

/** osls calls this for `${file(./resources/options.cjs)}` with its variable resolver. */
async function resolveStageOptions({ options, resolveConfigurationProperty, resolveVariable }) {
  const known = Object.keys((await resolveConfigurationProperty(['params', 'default'])) ?? {});
  const stage = await resolveVariable('sls:stage');
  const stageBlock = (await resolveConfigurationProperty(['params', stage])) ?? {};
  const given = [...Object.keys(stageBlock), ...Object.keys(commandLineParams(options.param))];
  const params = {};
  for (const name of new Set([...known, ...given])) params[name] = await resolveVariable(`param:${name}`);
  checkStageParameters(params, known);
  return {
    ...decideOptions(params, await resolveVariable('self:provider.region')),
    // The fragment variants chosen by a parameter's own value: taken from here, after the checks, so that a wrong
    // value is reported as such and not as a missing fragment file.
    databaseEngine: String(params.databaseEngine),
    waf: String(params.waf),
  };
}

module.exports = resolveStageOptions;
module.exports.decideOptions = decideOptions;
module.exports.checkStageParameters = checkStageParameters;
module.exports.StageOptionError = StageOptionError;
