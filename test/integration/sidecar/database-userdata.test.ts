import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createScriptSandbox, type ScriptSandbox } from '../../support/script-sandbox';

const SCRIPT = fileURLToPath(new URL('../../../userdata/database.sh', import.meta.url));

// What resources/database.yml's prelude exports before the script's text.
const PRELUDE = {
  STAGE: 'dev',
  AWS_REGION: 'eu-west-1',
  STACK_NAME: 'cloudy-dev',
  LEASE_TABLE: 'cloudy-dev-lease',
  EFS_FILE_SYSTEM_ID: 'fs-0123456789abcdef0',
  VIRTUAL_IP: '10.10.10.10',
  ROUTE_TABLE_IDS: 'rtb-public,rtb-private',
  DB_SECRET_ROLE_ARN: 'arn:aws:iam::222222222222:role/cloudy-dev-secret-reader',
  DB_SECRET_ID: 'cloudy/dev/database',
  DB_SECRET_REGION: 'eu-central-1',
};
const SECRET = '{"username":"cloudy_app","password":"s3cret pass"}';

/**
 * A scratch instance: the baked files under CLOUDY_ROOT, and stubs for every command that would change the
 * machine (dnf, systemctl, mount, chown) or reach the network (curl to IMDS, aws). Each stub appends its
 * command line to calls.log; `mount` fails while its failure counter is above zero.
 */
function scratchInstance(): ScriptSandbox {
  return createScriptSandbox({
    script: SCRIPT,
    prefix: 'cloudy-database-',
    files: { 'opt/cloudy/dist/sidecar/main.mjs': '' },
    stubs: {
      'usr/bin/node-24': '',
      dnf: '',
      systemctl: '',
      journalctl: '',
      chown: '',
      mountpoint: ({ root }) => `test -e "${root}/mounted"`,
      mount: ({ root, failWhileCounting }) => `${failWhileCounting('mount', 32)}; touch "${root}/mounted"`,
      curl: 'case "$*" in *api/token*) echo imds-token ;; *instance-id*) echo i-0abc ;; esac',
      aws: ({ log }) =>
        [
          'case "$1 $2" in',
          `  "sts assume-role") echo '{"AccessKeyId":"AKIAX","SecretAccessKey":"sk","SessionToken":"st"}' ;;`,
          `  "secretsmanager get-secret-value") echo "key=$AWS_ACCESS_KEY_ID token=$AWS_SESSION_TOKEN" >>"${log}"; echo '${SECRET}' ;;`,
          'esac',
        ].join('\n'),
    },
    env: { RETRY_SECONDS: '0', MOUNT_ATTEMPTS: '3' },
    prelude: PRELUDE,
  });
}

describe('userdata/database.sh', () => {
  let instance: ScriptSandbox;
  beforeEach(() => {
    instance = scratchInstance();
  });
  afterEach(() => instance.remove());

  it('installs PostgreSQL with its own unit masked, mounts EFS with TLS, and starts the sidecar', () => {
    // Prepare
    instance.failNext('mount', 1);
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    const calls = instance.calls();
    assert.ok(calls.includes('dnf install -y postgresql16-server postgresql16 amazon-efs-utils jq'));
    assert.ok(calls.includes('systemctl mask postgresql.service'));
    assert.equal(calls.filter((call) => call.startsWith('mount ')).length, 2, 'retried the mount once');
    assert.match(
      instance.file('etc/fstab'),
      /^fs-0123456789abcdef0:\/ \/var\/lib\/cloudy\/efs efs _netdev,tls,iam,noresvport,lookupcache=positive,acdirmin=0,acdirmax=0 0 0$/m,
    );
    assert.ok(calls.includes(`chown postgres:postgres ${instance.root}/var/lib/cloudy/efs`));
    assert.deepEqual(calls.slice(-3), [
      'systemctl daemon-reload',
      'systemctl enable --now cloudy-database-sidecar.service',
      'systemctl is-active --quiet cloudy-database-sidecar.service',
    ]);
  });

  it('reads the password with the assumed role, into a private file, never into the settings', () => {
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    assert.ok(
      instance.calls().includes('key=AKIAX token=st'),
      'the secret was read with the assumed credentials',
    );
    assert.equal(instance.file('etc/cloudy/db-password'), 's3cret pass\n');
    assert.equal(instance.mode('etc/cloudy/db-password'), 0o600);
    const env = instance.file('etc/cloudy/database-sidecar.env');
    assert.doesNotMatch(env, /s3cret/);
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret/);
    for (const line of [
      'SIDECAR_MODE=aws',
      'HOLDER_ID=i-0abc',
      'STAGE=dev',
      'LEASE_TABLE=cloudy-dev-lease',
      'ROUTE_TABLE_IDS=rtb-public,rtb-private',
      'VIRTUAL_IP=10.10.10.10',
      'PGDATA=/var/lib/cloudy/efs/pgdata',
      'DB_SUPERUSER=cloudy_app',
      'DB_PASSWORD_FILE=/etc/cloudy/db-password',
    ]) {
      assert.ok(env.split('\n').includes(line), line);
    }
  });

  it('writes a unit that runs the sidecar as postgres, puts the virtual IP on lo, and stops it gracefully', () => {
    // Act
    instance.run();
    // Assess
    const unit = instance.file('etc/systemd/system/cloudy-database-sidecar.service').split('\n');
    for (const line of [
      'User=postgres',
      'ExecStartPre=+/usr/sbin/ip address replace 10.10.10.10/32 dev lo',
      'ExecStart=/usr/bin/node-24 /opt/cloudy/dist/sidecar/main.mjs',
      'RequiresMountsFor=/var/lib/cloudy/efs',
      'KillMode=mixed',
      'Restart=always',
      'RestartPreventExitStatus=78',
    ]) {
      assert.ok(unit.includes(line), line);
    }
  });

  it('is idempotent: a second run leaves the same files and one fstab line', () => {
    // Prepare
    instance.run();
    const first = [
      'etc/fstab',
      'etc/cloudy/database-sidecar.env',
      'etc/systemd/system/cloudy-database-sidecar.service',
    ].map((path) => instance.file(path));
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    const second = [
      'etc/fstab',
      'etc/cloudy/database-sidecar.env',
      'etc/systemd/system/cloudy-database-sidecar.service',
    ].map((path) => instance.file(path));
    assert.deepEqual(second, first);
    assert.equal(instance.file('etc/fstab').trim().split('\n').length, 1);
  });

  it('fails at once, naming the key, when the prelude left a setting out', () => {
    // Act
    const { LEASE_TABLE: _omitted, ...withoutLeaseTable } = PRELUDE;
    const result = instance.run(withoutLeaseTable);
    // Assess
    assert.equal(result.status, 1);
    assert.match(result.stderr, /LEASE_TABLE is not set/);
  });

  it('gives up when EFS cannot be mounted', () => {
    // Prepare
    instance.failNext('mount', 5);
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 1);
    assert.match(result.stderr, /could not mount fs-0123456789abcdef0 after 3 attempts/);
  });
});
