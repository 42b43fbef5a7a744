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

class StageOptionError extends Error {}

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

const PARAMETERS = [
  'natType',
  'ec2Endpoint',
  'adminCidr',
  'certificateArn',
  'keyName',
  'secretsAccountId',
  'dbSecretRegion',
  'alarmEmail',
  'databaseEngine',
  'backupRetentionDays',
  'webScalingPolicy',
];

/** osls calls this for `${file(./resources/options.cjs)}` with its variable resolver. */
async function resolveStageOptions({ resolveVariable }) {
  const params = {};
  for (const name of PARAMETERS) params[name] = await resolveVariable(`param:${name}`);
  return decideOptions(params, await resolveVariable('self:provider.region'));
}

module.exports = resolveStageOptions;
module.exports.decideOptions = decideOptions;
module.exports.StageOptionError = StageOptionError;
