import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createScriptSandbox, type ScriptSandbox } from '../../support/script-sandbox';

const SCRIPT = fileURLToPath(new URL('../../../userdata/webserver.sh', import.meta.url));

// What resources/web.yml's prelude exports before the script's text.
const PRELUDE = {
  STAGE: 'dev',
  AWS_REGION: 'eu-west-1',
  STACK_NAME: 'cloudy-dev',
  DB_SECRET_ROLE_ARN: 'arn:aws:iam::222222222222:role/cloudy-dev-secret-reader',
  DB_SECRET_ID: 'cloudy/dev/database',
  DB_SECRET_REGION: 'eu-central-1',
  // databaseEngine: aurora's endpoints and CA file (the instance tier exports the virtual IP, an empty reader,
  // the CA parameter and an empty CA file).
  DB_WRITER_HOST: 'cloudy-dev.cluster-c0ffee.eu-west-1.rds.amazonaws.com',
  DB_READER_HOST: 'cloudy-dev.cluster-ro-c0ffee.eu-west-1.rds.amazonaws.com',
  DB_CA_PARAMETER: '',
  DB_CA_FILE: '/opt/cloudy/rds-ca/global-bundle.pem',
  METRICS_NAMESPACE: 'Cloudy/dev',
  SIGNAL_RESOURCE: 'WebAutoScalingGroup',
  LOG_GROUP: '/cloudy/dev/web',
  WEB_PROCESSES: '2',
  DB_POOL_MAX: '10',
  AUTH_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
  AUTH_AUDIENCE: 'cloudy-api',
  AUTH_JWKS_URL: '',
  TARGET_HEALTHY_SECONDS: '0',
};
const AGENT_CTL = 'opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';

/**
 * A scratch instance: the baked app's files under CLOUDY_ROOT, and stubs for the commands that would
 * change the machine (systemctl, useradd, ...) or reach the network (curl, cfn-signal). Each stub appends
 * its command line to calls.log; curl fails while its failure counter is above zero.
 */
function scratchInstance(): ScriptSandbox {
  return createScriptSandbox({
    script: SCRIPT,
    prefix: 'cloudy-webserver-',
    files: {
      ...Object.fromEntries(
        ['web/main.mjs', 'web/worker.js', 'web/prime-worker.mjs', 'metrics/main.mjs'].map((file) => [
          `opt/cloudy/dist/${file}`,
          '',
        ]),
      ),
      'opt/cloudy/rds-ca/global-bundle.pem': '',
    },
    stubs: {
      'usr/bin/node-24': '',
      'opt/aws/bin/cfn-signal': '',
      [AGENT_CTL]: '',
      systemctl: '',
      useradd: ({ root }) => `touch "${root}/user-created"`,
      // `id -u cloudy` succeeds once useradd has run.
      id: ({ root }) => `test -e "${root}/user-created"`,
      // With a "stop" file, the third check sends SIGTERM to the script, as systemd does when the instance is
      // shut down mid-boot.
      curl: ({ root, failWhileCounting }) =>
        [
          `if [ -e "${root}/stop" ] && [ "$(grep -c '^curl' "${root}/calls.log")" -ge 3 ]; then kill -TERM $PPID; exit 7; fi`,
          failWhileCounting('curl', 7),
        ].join('\n'),
    },
    env: { HEALTH_ATTEMPTS: '3', HEALTH_INTERVAL_SECONDS: '0' },
    prelude: PRELUDE,
  });
}

const signals = (calls: string[]) => calls.filter((call) => call.startsWith('cfn-signal'));

describe('userdata/webserver.sh', () => {
  let instance: ScriptSandbox;
  beforeEach(() => {
    instance = scratchInstance();
  });
  afterEach(() => instance.remove());

  it('writes the settings and units, starts both services, then signals success once /health answers', () => {
    // Prepare
    instance.failNext('curl', 2);

    // Act
    const result = instance.run();

    // Assess
    assert.equal(result.status, 0, result.stderr);
    const env = instance.file('etc/cloudy/web.env');
    for (const [key, value] of Object.entries(PRELUDE).filter(([key]) =>
      /^(DB_|AWS_REGION|WEB_PROCESSES|AUTH_)/.test(key),
    )) {
      assert.match(env, new RegExp(`^${key}=${value}$`, 'm'));
    }
    assert.match(instance.file('etc/cloudy/metrics.env'), /^METRICS_NAMESPACE=Cloudy\/dev$/m);
    assert.equal(instance.mode('etc/cloudy/web.env'), 0o600);
    const calls = instance.calls();
    assert.deepEqual(
      calls.filter((call) => !call.startsWith('curl')),
      [
        'amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/cloudy.json',
        'id -u cloudy',
        'useradd --system --no-create-home --shell /sbin/nologin cloudy',
        'systemctl daemon-reload',
        'systemctl enable cloudy-web.service cloudy-metrics.service',
        'systemctl restart cloudy-web.service cloudy-metrics.service',
        'cfn-signal --exit-code 0 --reason the web app answers http://127.0.0.1:8080/health --stack cloudy-dev --resource WebAutoScalingGroup --region eu-west-1',
      ],
    );
    assert.equal(calls.filter((call) => call.startsWith('curl')).length, 3);
  });

  it('runs the app as a non-root service that restarts on failure and may drain before it is killed', () => {
    assert.equal(instance.run().status, 0);

    const unit = instance.file('etc/systemd/system/cloudy-web.service');
    assert.match(unit, /^ExecStart=\/usr\/bin\/node-24 \/opt\/cloudy\/dist\/web\/main\.mjs$/m);
    assert.match(unit, /^User=cloudy$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^KillMode=mixed$/m);
    assert.match(unit, /^EnvironmentFile=\/etc\/cloudy\/web\.env$/m);
    const grace = Number(/^SHUTDOWN_GRACE_MS=(\d+)$/m.exec(instance.file('etc/cloudy/web.env'))?.[1]);
    const stopTimeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(
      stopTimeout * 1000 > grace,
      `TimeoutStopSec ${stopTimeout} s must exceed the ${grace} ms drain`,
    );
    const reporter = instance.file('etc/systemd/system/cloudy-metrics.service');
    assert.match(reporter, /^ExecStart=\/usr\/bin\/node-24 \/opt\/cloudy\/dist\/metrics\/main\.mjs$/m);
    assert.match(reporter, /^Restart=always$/m);
  });

  it("writes the services' output to files and ships them and the boot log to the tier's log group", () => {
    assert.equal(instance.run().status, 0);

    assert.match(
      instance.file('etc/systemd/system/cloudy-web.service'),
      /^StandardOutput=append:\/var\/log\/cloudy\/web\.log$/m,
    );
    assert.match(
      instance.file('etc/systemd/system/cloudy-metrics.service'),
      /^StandardOutput=append:\/var\/log\/cloudy\/metrics\.log$/m,
    );
    const agent = JSON.parse(instance.file('opt/aws/amazon-cloudwatch-agent/etc/cloudy.json'));
    assert.deepEqual(agent.logs.logs_collected.files.collect_list, [
      {
        file_path: '/var/log/cloud-init-output.log',
        log_group_name: '/cloudy/dev/web',
        log_stream_name: '{instance_id}/cloud-init-output',
      },
      {
        file_path: '/var/log/cloudy/web.log',
        log_group_name: '/cloudy/dev/web',
        log_stream_name: '{instance_id}/web',
      },
      {
        file_path: '/var/log/cloudy/metrics.log',
        log_group_name: '/cloudy/dev/web',
        log_stream_name: '{instance_id}/metrics',
      },
    ]);
    assert.match(instance.file('etc/logrotate.d/cloudy'), /^\s*copytruncate$/m);
  });

  it('sends no failure signal when SIGTERM stops it during the boot (the instance is being replaced)', () => {
    // Prepare
    instance.failNext('curl', 100);
    writeFileSync(join(instance.root, 'stop'), '');

    // Act
    const result = instance.run();

    // Assess
    assert.equal(result.status, 143, result.stderr);
    assert.match(result.stdout, /stopped by SIGTERM/);
    assert.equal(instance.calls().filter((call) => call.startsWith('curl')).length, 3);
    assert.deepEqual(signals(instance.calls()), []);
  });

  it('is safe to run twice: the same files, no second user, the services restarted, signalled again', () => {
    assert.equal(instance.run().status, 0);
    const paths = [
      'etc/cloudy/web.env',
      'etc/cloudy/metrics.env',
      'etc/systemd/system/cloudy-web.service',
      'etc/systemd/system/cloudy-metrics.service',
    ];
    const first = paths.map((path) => instance.file(path));
    instance.clearCalls();

    const second = instance.run();

    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(
      paths.map((path) => instance.file(path)),
      first,
    );
    const calls = instance.calls();
    assert.ok(!calls.some((call) => call.startsWith('useradd')));
    assert.ok(calls.includes('systemctl restart cloudy-web.service cloudy-metrics.service'));
    assert.equal(signals(calls).length, 1);
  });

  it('signals failure once when /health never answers within the bound', () => {
    // Prepare
    instance.failNext('curl', 100);

    // Act
    const result = instance.run();

    // Assess
    assert.notEqual(result.status, 0);
    const sent = signals(instance.calls());
    assert.equal(sent.length, 1);
    assert.match(
      sent[0] ?? '',
      /^cfn-signal --exit-code 1 --reason the web app did not answer .* after 3 attempts/,
    );
    assert.match(result.stdout, /webserver\.sh: waiting for/);
  });

  it('signals failure when the AMI lacks the app', () => {
    // Prepare
    rmSync(join(instance.root, 'opt/cloudy/dist/web/main.mjs'));

    // Act
    const result = instance.run();

    // Assess
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /main\.mjs is missing: this AMI was not made by npm run bake-ami/);
    assert.match(signals(instance.calls())[0] ?? '', /^cfn-signal --exit-code 1 /);
    assert.ok(!instance.calls().some((call) => call.startsWith('systemctl')));
    assert.ok(!instance.calls().some((call) => call.startsWith('amazon-cloudwatch-agent-ctl')));
  });

  it('signals failure when the AMI lacks the RDS certificate bundle', () => {
    rmSync(join(instance.root, 'opt/cloudy/rds-ca/global-bundle.pem'));

    const result = instance.run();

    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /global-bundle\.pem is missing: this AMI was not made by npm run bake-ami/);
    assert.match(signals(instance.calls())[0] ?? '', /^cfn-signal --exit-code 1 /);
  });

  it('names a setting the prelude did not export', () => {
    // Prepare
    const { DB_SECRET_ID: _left, ...incomplete } = PRELUDE;

    // Act
    const result = instance.run(incomplete);

    // Assess
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /DB_SECRET_ID is not set/);
  });
});
