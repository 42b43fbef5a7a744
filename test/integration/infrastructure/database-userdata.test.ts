import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createScriptSandbox, type ScriptSandbox } from '../../support/script-sandbox';

const SCRIPT = fileURLToPath(new URL('../../../userdata/database.sh', import.meta.url));

// What resources/database-instances.yml's prelude exports before the script's text.
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
  SIGNAL_RESOURCE: 'DatabaseAutoScalingGroup',
  LOG_GROUP: '/cloudy/dev/database',
  DB_CA_PARAMETER: '/cloudy/dev/database-ca-certificate',
  DB_MAX_CONNECTIONS: '120',
  METRICS_NAMESPACE: 'cloudy/dev',
  BACKUP_BUCKET: 'cloudy-dev-databasebackupbucket-abc123',
  BACKUP_RETENTION_DAYS: '35',
};
const SECRET = '{"username":"cloudy_app","password":"s3cret pass"}';
const AGENT_CTL = 'opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';

/**
 * A scratch instance: the baked files under CLOUDY_ROOT, and stubs for every command that would change the
 * machine (systemctl, mount, chown) or reach the network (curl to IMDS, aws, cfn-signal). Each stub appends
 * its command line to calls.log; `mount` fails while its failure counter is above zero, STS while `sts` is,
 * and the sidecar bundle's `serving-primary` (its own test: test/integration/sidecar/serving-primary.test.ts)
 * answers "no primary serves yet" while `lease` is. The serving holder is the file `holder` (this instance,
 * i-0abc, by default). With a "stop" file, the script's first wait (`sleep`) sends
 * it SIGTERM, as systemd does when the instance is shut down mid-boot.
 */
function scratchInstance(): ScriptSandbox {
  return createScriptSandbox({
    script: SCRIPT,
    prefix: 'cloudy-database-',
    files: {
      'opt/cloudy/dist/sidecar/main.mjs': '',
      'opt/cloudy/dist/backup/cloudy-backup.sh': '',
      'usr/bin/initdb': '',
      'usr/bin/pg_isready': '',
      'usr/bin/pgbackrest': '',
      'usr/sbin/mount.efs': '',
    },
    stubs: {
      // The sidecar bundle's readiness check; the lease settings it was given go to the call log.
      'usr/bin/node-24': ({ root, log }) =>
        [
          'case "$*" in *"sidecar/main.mjs serving-primary")',
          `    echo "lease=$LEASE_TABLE/$LEASE_NAME region=$AWS_REGION" >>"${log}"`,
          `    n=$(cat "${root}/lease-failures" 2>/dev/null || echo 0)`,
          `    if [ "$n" -gt 0 ]; then echo $((n - 1)) >"${root}/lease-failures"; exit 0; fi`,
          `    cat "${root}/holder" 2>/dev/null || echo i-0abc ;;`,
          'esac',
        ].join('\n'),
      'usr/bin/postgres': 'echo "postgres (PostgreSQL) 16.4"',
      'opt/aws/bin/cfn-signal': '',
      [AGENT_CTL]: '',
      // The AMI's jq; the script runs the real one from PATH.
      'usr/bin/jq': '',
      systemctl: '',
      chown: '',
      sleep: ({ root }) => `if [ -e "${root}/stop" ]; then kill -TERM $PPID; fi`,
      mountpoint: ({ root }) => `test -e "${root}/mounted"`,
      mount: ({ root, failWhileCounting }) => `${failWhileCounting('mount', 32)}; touch "${root}/mounted"`,
      curl: 'case "$*" in *api/token*) echo imds-token ;; *instance-id*) echo i-0abc ;; esac',
      aws: ({ root, log, failWhileCounting }) =>
        [
          'case "$1 $2" in',
          `  "sts assume-role") ${failWhileCounting('sts', 255)}; echo '{"AccessKeyId":"AKIAX","SecretAccessKey":"sk","SessionToken":"st"}' ;;`,
          `  "secretsmanager get-secret-value") echo "key=$AWS_ACCESS_KEY_ID token=$AWS_SESSION_TOKEN" >>"${log}"; cat "${root}/secret.json" 2>/dev/null || echo '${SECRET}' ;;`,
          'esac',
        ].join('\n'),
    },
    env: { RETRY_SECONDS: '0', MOUNT_ATTEMPTS: '3', AWS_ATTEMPTS: '3', READY_ATTEMPTS: '4' },
    prelude: PRELUDE,
  });
}

const isReadinessCheck = (call: string) => call.endsWith('sidecar/main.mjs serving-primary');

describe('userdata/database.sh', () => {
  let instance: ScriptSandbox;
  beforeEach(() => {
    instance = scratchInstance();
  });
  afterEach(() => instance.remove());

  it("installs nothing, masks PostgreSQL's own unit, mounts EFS with TLS, and starts the sidecar", () => {
    // Prepare
    instance.failNext('mount', 1);
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    const calls = instance.calls();
    assert.ok(!calls.some((call) => /^(dnf|yum|rpm) /.test(call)), 'no package install at boot');
    assert.ok(calls.includes('systemctl mask postgresql.service'));
    assert.equal(calls.filter((call) => call.startsWith('mount ')).length, 2, 'retried the mount once');
    assert.match(
      instance.file('etc/fstab'),
      /^fs-0123456789abcdef0:\/ \/var\/lib\/cloudy\/efs efs _netdev,tls,iam,noresvport,lookupcache=positive,acdirmin=0,acdirmax=0 0 0$/m,
    );
    assert.ok(calls.includes(`chown postgres:postgres ${instance.root}/var/lib/cloudy/efs`));
    const sidecarStart = calls.indexOf('systemctl enable --now cloudy-database-sidecar.service');
    assert.deepEqual(calls.slice(sidecarStart - 1, sidecarStart + 3), [
      'systemctl daemon-reload',
      'systemctl enable --now cloudy-database-sidecar.service',
      'systemctl enable --now cloudy-backup-full.timer cloudy-backup-diff.timer cloudy-backup-watch.timer',
      'systemctl is-active --quiet cloudy-database-sidecar.service',
    ]);
  });

  it('signals readiness only once the lease names a primary that serves, after the sidecar started', () => {
    // Prepare: the first two reads find the lease taken but no primary published yet (initdb, start, route).
    instance.failNext('lease', 2);
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    const calls = instance.calls();
    const reads = calls.filter(isReadinessCheck);
    assert.equal(reads.length, 3);
    assert.equal(reads[0], `node-24 ${instance.root}/opt/cloudy/dist/sidecar/main.mjs serving-primary`);
    assert.equal(
      calls[calls.indexOf(reads[0] ?? '') + 1],
      'lease=cloudy-dev-lease/ region=eu-west-1',
      "the sidecar's lease table, and its default lease name",
    );
    const signals = calls.filter((call) => call.startsWith('cfn-signal'));
    assert.deepEqual(signals, [
      'cfn-signal --exit-code 0 --reason the database tier serves (i-0abc is the primary) --stack cloudy-dev --resource DatabaseAutoScalingGroup --region eu-west-1',
    ]);
    assert.ok(
      calls.indexOf('systemctl enable --now cloudy-database-sidecar.service') <
        calls.findIndex(isReadinessCheck),
    );
    assert.equal(calls.at(-1), signals[0]);
  });

  it('signals readiness as a standby when another instance is the serving primary (a rollout)', () => {
    // Prepare
    writeFileSync(join(instance.root, 'holder'), 'i-0old');
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      instance.calls().at(-1) ?? '',
      /^cfn-signal --exit-code 0 --reason the database tier serves \(i-0abc is the standby of i-0old\) /,
    );
  });

  it('signals failure when no primary serves within the bound', () => {
    // Prepare
    instance.failNext('lease', 10);
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 1);
    const signals = instance.calls().filter((call) => call.startsWith('cfn-signal'));
    assert.equal(signals.length, 1);
    assert.match(
      signals[0] ?? '',
      /^cfn-signal --exit-code 1 --reason no primary served after 4 checks of the lease/,
    );
  });

  it('sends no failure signal when SIGTERM stops it during the boot (the instance is being replaced)', () => {
    // Prepare
    instance.failNext('lease', 10);
    writeFileSync(join(instance.root, 'stop'), '');
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 143, result.stderr);
    assert.match(result.stdout, /stopped by SIGTERM/);
    assert.ok(instance.calls().some(isReadinessCheck), 'stopped while waiting');
    assert.deepEqual(
      instance.calls().filter((call) => call.startsWith('cfn-signal')),
      [],
    );
  });

  it('retries STS while the NAT is not yet forwarding, and signals failure when it never answers', () => {
    // Prepare
    instance.failNext('sts', 2);
    // Act
    const recovered = instance.run();
    // Assess
    assert.equal(recovered.status, 0, recovered.stderr);
    assert.equal(instance.calls().filter((call) => call.startsWith('aws sts')).length, 3);

    // Prepare
    instance.clearCalls();
    instance.failNext('sts', 5);
    // Act
    const failed = instance.run();
    // Assess
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /could not assume the secret reader role after 3 attempts/);
    assert.match(
      instance.calls().find((call) => call.startsWith('cfn-signal')) ?? '',
      /^cfn-signal --exit-code 1 --reason database\.sh failed with status 1, see the log group \/cloudy\/dev\/database/,
    );
  });

  it("ships the boot and sidecar logs to the tier's log group before anything can fail", () => {
    // Prepare
    instance.failNext('mount', 5);
    // Act
    instance.run();
    // Assess
    const calls = instance.calls();
    assert.ok(
      calls.indexOf(
        'amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/cloudy.json',
      ) < calls.findIndex((call) => call.startsWith('mount ')),
      'the agent ships the log of a failed mount',
    );
    const agent = JSON.parse(instance.file('opt/aws/amazon-cloudwatch-agent/etc/cloudy.json'));
    assert.deepEqual(
      agent.logs.logs_collected.files.collect_list.map((entry: Record<string, string>) => [
        entry.file_path,
        entry.log_group_name,
        entry.log_stream_name,
      ]),
      [
        ['/var/log/cloud-init-output.log', '/cloudy/dev/database', '{instance_id}/cloud-init-output'],
        ['/var/log/cloudy/sidecar.log', '/cloudy/dev/database', '{instance_id}/sidecar'],
        ['/var/log/cloudy/sidecar-metrics.log', '/cloudy/dev/database', '{instance_id}/sidecar-metrics'],
        ['/var/log/cloudy/backup.log', '/cloudy/dev/database', '{instance_id}/backup'],
        ['/var/log/cloudy/backup-metrics.log', '/cloudy/dev/database', '{instance_id}/backup-metrics'],
      ],
    );
    // The sidecar (postgres) appends its metric lines to a file the root-owned log folder holds for it.
    assert.ok(calls.includes(`chown postgres:postgres ${instance.root}/var/log/cloudy/sidecar-metrics.log`));
  });

  it('refuses an AMI without the baked packages', () => {
    // Prepare
    rmSync(join(instance.root, 'usr/bin/postgres'));
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\/usr\/bin\/postgres is missing: this AMI was not made by npm run bake-ami/);
    assert.match(instance.calls().find((call) => call.startsWith('cfn-signal')) ?? '', /--exit-code 1 /);
  });

  it('refuses an image whose PostgreSQL major version cannot open PGDATA, before its sidecar starts', () => {
    // Prepare: PGDATA made by PostgreSQL 15; the image runs 16.
    mkdirSync(join(instance.root, 'var/lib/cloudy/efs/pgdata'), { recursive: true });
    writeFileSync(join(instance.root, 'var/lib/cloudy/efs/pgdata/PG_VERSION'), '15\n');
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /PGDATA is PostgreSQL 15 and this image runs PostgreSQL 16: not joining the tier/,
    );
    assert.match(instance.calls().find((call) => call.startsWith('cfn-signal')) ?? '', /--exit-code 1 /);
    assert.ok(
      !instance.calls().some((call) => call.includes('enable --now cloudy-database-sidecar.service')),
    );
  });

  it('joins a tier whose PGDATA is of its own major version', () => {
    // Prepare
    mkdirSync(join(instance.root, 'var/lib/cloudy/efs/pgdata'), { recursive: true });
    writeFileSync(join(instance.root, 'var/lib/cloudy/efs/pgdata/PG_VERSION'), '16\n');
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
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
      'HOLDER_ID=i-0abc',
      'STAGE=dev',
      'LEASE_TABLE=cloudy-dev-lease',
      'ROUTE_TABLE_IDS=rtb-public,rtb-private',
      'VIRTUAL_IP=10.10.10.10',
      'PGDATA=/var/lib/cloudy/efs/pgdata',
      'DB_SUPERUSER=postgres',
      'DB_APP_USER=cloudy_app',
      'DB_APP_DATABASE=postgres',
      'DB_PASSWORD_FILE=/etc/cloudy/db-password',
      'PG_SSL_CERT_FILE=/var/lib/cloudy/efs/tls/server.crt',
      'PG_SSL_KEY_FILE=/var/lib/cloudy/efs/tls/server.key',
      'PG_MAX_CONNECTIONS=120',
      'METRICS_FILE=/var/log/cloudy/sidecar-metrics.log',
      'METRICS_NAMESPACE=cloudy/dev',
      'BACKUP_BUCKET=cloudy-dev-databasebackupbucket-abc123',
      'BACKUP_RETENTION_DAYS=35',
      'PGBACKREST_CONFIG=/var/lib/cloudy/pgbackrest/pgbackrest.conf',
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
      'StandardOutput=append:/var/log/cloudy/sidecar.log',
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

  it('creates the TLS certificate beside PGDATA once, naming the virtual IP, and publishes its CA', () => {
    // Act
    const first = instance.run();
    const certificate = instance.file('var/lib/cloudy/efs/tls/server.crt');
    const second = instance.run();
    // Assess
    assert.equal(first.status, 0, first.stderr);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(instance.file('var/lib/cloudy/efs/tls/server.crt'), certificate, 'kept, not made again');
    const tls = join(instance.root, 'var/lib/cloudy/efs/tls');
    const verified = execFileSync('openssl', [
      'verify',
      '-CAfile',
      join(tls, 'ca.crt'),
      join(tls, 'server.crt'),
    ]);
    assert.match(verified.toString(), /server\.crt: OK/);
    const san = execFileSync('openssl', [
      'x509',
      '-in',
      join(tls, 'server.crt'),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    assert.match(san.toString(), /IP Address:10\.10\.10\.10/);
    assert.equal(instance.mode('var/lib/cloudy/efs/tls/server.key'), 0o600);
    assert.ok(!existsSync(join(tls, 'ca.key')), "the CA's key is gone once it has signed");
    const published = instance
      .calls()
      .filter((call) => call.startsWith('aws ssm put-parameter'))
      .map((call) => call.replace(instance.root, ''));
    assert.deepEqual(published, [
      'aws ssm put-parameter --region eu-west-1 --name /cloudy/dev/database-ca-certificate --type String --overwrite --value file:///var/lib/cloudy/efs/tls/ca.crt',
      'aws ssm put-parameter --region eu-west-1 --name /cloudy/dev/database-ca-certificate --type String --overwrite --value file:///var/lib/cloudy/efs/tls/ca.crt',
    ]);
  });

  it('refuses a secret that names the superuser', () => {
    // Act
    writeFileSync(join(instance.root, 'secret.json'), '{"username":"postgres","password":"pw"}');
    const result = instance.run();
    // Assess
    assert.equal(result.status, 1);
    assert.match(result.stderr, /must name the application's own role/);
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

  it('enables the backup timers beside the sidecar: weekly full, daily differential (and 5 minutes after boot), the minutely watch', () => {
    // Act
    const result = instance.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    assert.ok(
      instance
        .calls()
        .includes(
          'systemctl enable --now cloudy-backup-full.timer cloudy-backup-diff.timer cloudy-backup-watch.timer',
        ),
    );
    assert.match(
      instance.file('etc/systemd/system/cloudy-backup-full.timer'),
      /^OnCalendar=Sun \*-\*-\* 03:00:00 UTC$/m,
    );
    assert.match(instance.file('etc/systemd/system/cloudy-backup-diff.timer'), /^OnBootSec=5min$/m);
    const service = instance.file('etc/systemd/system/cloudy-backup@.service');
    assert.match(service, /^User=postgres$/m);
    assert.match(service, /^ExecStart=\/opt\/cloudy\/dist\/backup\/cloudy-backup.sh %i$/m);
  });
});

/**
 * The backup job of the bundle (ec2/backup/cloudy-backup.sh), run against stubs: pg_isready answers (this host
 * runs the primary) or not, pgbackrest records its arguments.
 */
describe('the backup job (cloudy-backup)', () => {
  let scratch: string;
  const job = readFileSync(
    fileURLToPath(new URL('../../../ec2/backup/cloudy-backup.sh', import.meta.url)),
    'utf8',
  );
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cloudy-24-backup-job-'));
    mkdirSync(join(scratch, 'bin'));
    mkdirSync(join(scratch, 'pgdata/pg_wal/archive_status'), { recursive: true });
    writeFileSync(join(scratch, 'cloudy-backup'), job, { mode: 0o755 });
    // The stanza marker the watch leaves once per boot.
    mkdirSync(join(scratch, 'run'));
    writeFileSync(join(scratch, 'bin/pgbackrest'), `#!/bin/sh\necho "$*" >>${scratch}/pgbackrest.log\n`, {
      mode: 0o755,
    });
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  function runJob(mode: string, primaryHere: boolean) {
    writeFileSync(join(scratch, 'bin/pg_isready'), `#!/bin/sh\nexit ${primaryHere ? 0 : 2}\n`, {
      mode: 0o755,
    });
    chmodSync(join(scratch, 'bin/pg_isready'), 0o755);
    return execFileSync('bash', [join(scratch, 'cloudy-backup'), mode], {
      env: {
        PATH: `${join(scratch, 'bin')}:${process.env.PATH}`,
        PGBACKREST_CONFIG: '/etc/pgbr.conf',
        BACKUP_STANZA: 'cloudy',
        METRICS_NAMESPACE: 'cloudy/dev',
        BACKUP_METRICS_FILE: join(scratch, 'metrics.log'),
        PG_SOCKET_DIR: join(scratch, 'run'),
        PG_PORT: '5432',
        PGDATA: join(scratch, 'pgdata'),
      },
      encoding: 'utf8',
    });
  }
  const pgbackrestCalls = () =>
    existsSync(join(scratch, 'pgbackrest.log'))
      ? readFileSync(join(scratch, 'pgbackrest.log'), 'utf8').trim().split('\n')
      : [];
  const metrics = () =>
    readFileSync(join(scratch, 'metrics.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('does nothing where the primary does not run', () => {
    runJob('diff', false);
    assert.deepEqual(pgbackrestCalls(), []);
    assert.ok(!existsSync(join(scratch, 'metrics.log')));
  });

  it('on the primary: a base backup, then check, then reports the success as an EMF metric', () => {
    runJob('diff', true);
    assert.deepEqual(pgbackrestCalls(), [
      '--config=/etc/pgbr.conf --stanza=cloudy stanza-create',
      '--config=/etc/pgbr.conf --stanza=cloudy --type=diff backup',
      '--config=/etc/pgbr.conf --stanza=cloudy check',
    ]);
    const [line] = metrics();
    assert.ok(line);
    assert.equal(line.BaseBackupSucceeded, 1);
    assert.deepEqual((line._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics, [
      {
        Namespace: 'cloudy/dev',
        Dimensions: [[]],
        Metrics: [{ Name: 'BaseBackupSucceeded', Unit: 'Count' }],
      },
    ]);
  });

  it('verifies the repository after the weekly full backup', () => {
    runJob('full', true);
    assert.equal(pgbackrestCalls().at(-1), '--config=/etc/pgbr.conf --stanza=cloudy verify');
  });

  it('watch reports the age of the oldest segment waiting to be archived, 0 when none waits', () => {
    runJob('watch', true);
    assert.equal(metrics().at(-1)?.WalArchiveLagSeconds, 0);
    const ready = join(scratch, 'pgdata/pg_wal/archive_status/000000010000000000000007.ready');
    writeFileSync(ready, '');
    const twoMinutesAgo = Date.now() / 1000 - 120;
    utimesSync(ready, twoMinutesAgo, twoMinutesAgo);
    runJob('watch', true);
    const lag = metrics().at(-1)?.WalArchiveLagSeconds as number;
    assert.ok(lag >= 120 && lag < 180, `lag ${lag}`);
  });
});

describe('the restore command (cloudy-restore)', () => {
  const command = fileURLToPath(new URL('../../../ec2/backup/cloudy-restore.sh', import.meta.url));
  const run = (...args: string[]) => spawnSync('bash', [command, ...args], { encoding: 'utf8' });

  it('answers --help with its usage, exit 0, before reading anything', () => {
    const result = run('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^usage: cloudy-restore --to-time .* \| --latest \[--yes\]$/m);
  });

  it('refuses an unknown option or a missing target with the usage, exit 2', () => {
    for (const args of [['--to-tme', 'x'], ['--yes']]) {
      const result = run(...args);
      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.stderr, /usage: cloudy-restore/);
    }
  });

  /**
   * A database instance in a scratch folder: the sidecar's environment file, PGDATA with a file in it, and stubs
   * for what acts on the machine or AWS (systemctl, aws, pgbackrest, runuser, pg_isready: this host serves).
   */
  function scratchTier() {
    const root = mkdtempSync(join(tmpdir(), 'cloudy-24-restore-'));
    const bin = join(root, 'bin');
    const efs = join(root, 'efs');
    mkdirSync(bin);
    mkdirSync(join(efs, 'pgdata'), { recursive: true });
    writeFileSync(join(efs, 'pgdata', 'PG_VERSION'), 'old\n');
    const log = join(root, 'calls.log');
    const stub = (name: string, body: string) =>
      writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >>${log}\n${body}\n`, { mode: 0o755 });
    // PostgreSQL answers here while the sidecar runs (this instance is the primary).
    stub('pg_isready', `test ! -e ${root}/stopped`);
    stub('systemctl', `case "$1" in stop) touch ${root}/stopped ;; start) rm -f ${root}/stopped ;; esac`);
    stub('runuser', 'shift 3; "$@"');
    // restore writes the new cluster into --pg1-path; info prints the backups.
    stub(
      'pgbackrest',
      `for A in "$@"; do case "$A" in --pg1-path=*) D=\${A#--pg1-path=}; echo new >"$D/PG_VERSION";; info) echo "stanza: cloudy";; esac; done`,
    );
    stub(
      'aws',
      `echo '{"Item":{"holderId":{"S":"i-0abc"},"expiresAtMs":{"N":"${Date.now() + 3_600_000}"}}}'`,
    );
    writeFileSync(
      join(root, 'sidecar.env'),
      [
        `PGDATA=${join(efs, 'pgdata')}`,
        'HOLDER_ID=i-0abc',
        'AWS_REGION=eu-west-1',
        'LEASE_TABLE=cloudy-dev-lease',
        'PG_SOCKET_DIR=/run/postgresql',
        'PG_PORT=5432',
        'BACKUP_BUCKET=cloudy-dev-databasebackupbucket-abc',
        'BACKUP_STANZA=cloudy',
        'PGBACKREST_CONFIG=/var/lib/cloudy/pgbackrest/pgbackrest.conf',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'sidecar.log'),
      '{"postgres":"LOG:  recovery stopping before commit of transaction 812, time 2026-12-08 03:12:21+00"}\n',
    );
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      CLOUDY_SIDECAR_ENV: join(root, 'sidecar.env'),
      CLOUDY_SIDECAR_LOG: join(root, 'sidecar.log'),
    };
    return {
      root,
      efs,
      run: (...args: string[]) => spawnSync('bash', [command, ...args], { encoding: 'utf8', env }),
      calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
      remove: () => rmSync(root, { recursive: true, force: true }),
    };
  }

  it('prints the plan and the backups, and changes nothing without --yes', () => {
    const tier = scratchTier();
    try {
      const result = tier.run('--to-time', '2026-12-08 03:12:20+00');
      assert.equal(result.status, 0, result.stderr);
      assert.match(
        result.stdout,
        /^Restore of .*pgdata to 2026-12-08 03:12:20\+00 from s3:\/\/cloudy-dev-databasebackupbucket-abc/m,
      );
      assert.match(result.stdout, /stanza: cloudy/);
      assert.match(result.stdout, /Nothing done: run again with --yes to act\./);
      assert.ok(!tier.calls().some((call) => call.startsWith('systemctl') || call.includes(' restore')));
      assert.ok(!existsSync(join(tier.efs, 'cloudy-maintenance')));
      assert.equal(readFileSync(join(tier.efs, 'pgdata', 'PG_VERSION'), 'utf8'), 'old\n');
    } finally {
      tier.remove();
    }
  });

  it('with --yes: marker, clean stop, restore into a fresh directory, old one kept aside, marker gone, tier back', () => {
    const tier = scratchTier();
    try {
      const result = tier.run('--to-time', '2026-12-08 03:12:20+00', '--yes');
      assert.equal(result.status, 0, result.stderr);
      const calls = tier.calls();
      const stop = calls.indexOf('systemctl stop cloudy-database-sidecar.service');
      const restore = calls.findIndex((call) => call.startsWith('pgbackrest') && call.endsWith(' restore'));
      const start = calls.indexOf('systemctl start cloudy-database-sidecar.service');
      assert.ok(stop >= 0 && stop < restore && restore < start, calls.join('\n'));
      assert.match(
        calls[restore] ?? '',
        /--type=time --target=2026-12-08 03:12:20\+00 --target-action=promote restore$/,
      );
      assert.equal(readFileSync(join(tier.efs, 'pgdata', 'PG_VERSION'), 'utf8'), 'new\n');
      const aside = readdirSync(tier.efs).filter((name) => name.startsWith('pgdata.before-restore-'));
      assert.equal(aside.length, 1);
      assert.equal(readFileSync(join(tier.efs, aside[0] ?? '', 'PG_VERSION'), 'utf8'), 'old\n');
      assert.ok(!existsSync(join(tier.efs, 'cloudy-maintenance')), 'the marker is removed');
      assert.match(result.stdout, /recovery stopping before commit of transaction 812/);
    } finally {
      tier.remove();
    }
  });

  it('refuses on a standby while another instance is the primary', () => {
    const tier = scratchTier();
    try {
      writeFileSync(join(tier.root, 'bin', 'pg_isready'), '#!/bin/bash\nexit 2\n', { mode: 0o755 });
      writeFileSync(
        join(tier.root, 'bin', 'aws'),
        `#!/bin/bash\necho '{"Item":{"holderId":{"S":"i-0other"},"expiresAtMs":{"N":"${Date.now() + 3_600_000}"}}}'\n`,
        { mode: 0o755 },
      );
      const result = tier.run('--latest', '--yes');
      assert.equal(result.status, 1);
      assert.match(result.stderr, /i-0other is the primary: run this there/);
      assert.ok(!existsSync(join(tier.efs, 'cloudy-maintenance')));
    } finally {
      tier.remove();
    }
  });
});
