import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createScriptSandbox } from '../../support/script-sandbox';

const SCRIPT = fileURLToPath(new URL('../../../userdata/bake-ami.sh', import.meta.url));
const RDS_BUNDLE = [1, 2]
  .map((n) => `Amazon RDS CA ${n}\n-----BEGIN CERTIFICATE-----\nMII${n}\n-----END CERTIFICATE-----\n`)
  .join('');

/**
 * A scratch builder: a real bundle (.tar.gz of web/ and metrics/), real tar and sha256sum, and stubs for
 * what would change the machine or reach the network. curl "downloads" the bundle from the scratch folder
 * and "uploads" the result into it; every stub appends its command line to calls.log.
 */
function scratchBuilder() {
  const sandbox = createScriptSandbox({
    script: SCRIPT,
    prefix: 'cloudy-bake-',
    files: {
      ...Object.fromEntries(
        ['web/main.mjs', 'web/worker.js', 'web/prime-worker.mjs', 'metrics/main.mjs', 'sidecar/main.mjs'].map(
          (file) => [`source/${file}`, `// ${file}\n`],
        ),
      ),
      'source/backup/cloudy-backup.sh': '#!/bin/bash\n',
      'source/backup/cloudy-restore.sh': '#!/bin/bash\n',
      'etc/machine-id': '0123456789abcdef0123456789abcdef\n',
      // What AWS's trust store serves: several CA certificates in one PEM file.
      'rds-bundle.pem': RDS_BUNDLE,
    },
    stubs: {
      curl: ({ root }) =>
        [
          'OUT=""; UP=""; URL=""',
          'while [ $# -gt 0 ]; do case "$1" in --output) OUT=$2; shift;; --upload-file) UP=$2; shift;; https://*) URL=$1;; esac; shift; done',
          `case "$URL" in https://truststore.pki.rds.amazonaws.com/*) SOURCE="${root}/rds-bundle.pem";; *) SOURCE="${root}/bundle.tar.gz";; esac`,
          'if [ -n "$OUT" ]; then cp "$SOURCE" "$OUT"; fi',
          `if [ -n "$UP" ]; then cp "$UP" "${root}/result.txt"; fi`,
        ].join('\n'),
      // The packages' files the AMI contract names (userdata/webserver.sh, database.sh).
      dnf: ({ root }) =>
        [
          'opt/aws/bin/cfn-signal',
          'opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl',
          'usr/sbin/logrotate',
          'usr/bin/postgres',
          'usr/bin/initdb',
          'usr/bin/pg_isready',
          'usr/sbin/mount.efs',
          'usr/bin/jq',
        ]
          .map((file) => `mkdir -p "$(dirname "${root}/${file}")" && touch "${root}/${file}"`)
          .join('\n'),
      // The pgBackRest build: the clone at the pinned commit, a build that leaves the executable.
      git: 'case "$*" in *rev-parse*) echo 8c8f3ee63e310f0b3ea10b55ed3b96b4cc9296da ;; *clone*) for A in "$@"; do D=$A; done; mkdir -p "$D" ;; esac',
      meson: '',
      ninja: 'mkdir -p "$2/src" && printf "#!/bin/sh\\n" >"$2/src/pgbackrest"',
      systemctl: '',
      'cloud-init': '',
      useradd: '',
      id: 'exit 1',
      'usr/bin/node-24': '',
    },
    env: {
      BUNDLE_URL: 'https://bake.s3.example/dev/1/bundle.tar.gz?X-Amz-Signature=x&y=z',
      RESULT_URL: 'https://bake.s3.example/dev/1/result.txt?X-Amz-Signature=x',
    },
  });
  const { root } = sandbox;
  execFileSync('tar', ['-czf', join(root, 'bundle.tar.gz'), '-C', join(root, 'source'), '.']);
  const sha256 = createHash('sha256')
    .update(readFileSync(join(root, 'bundle.tar.gz')))
    .digest('hex');
  return {
    ...sandbox,
    sha256,
    result: () => readFileSync(join(root, 'result.txt'), 'utf8'),
    run: (checksum = sha256) => sandbox.run({ BUNDLE_SHA256: checksum }),
  };
}

describe('userdata/bake-ami.sh', () => {
  let builder: ReturnType<typeof scratchBuilder>;
  beforeEach(() => {
    builder = scratchBuilder();
  });
  afterEach(() => builder.remove());

  it('installs Node.js and the checked bundle, prepares the disk, reports ok, powers off', () => {
    // Prepare
    mkdirSync(join(builder.root, 'opt/cloudy/dist/old'), { recursive: true });

    // Act
    const run = builder.run();

    // Assess
    assert.equal(run.status, 0, run.stderr);
    const app = join(builder.root, 'opt/cloudy/dist');
    assert.equal(readFileSync(join(app, 'web/main.mjs'), 'utf8'), '// web/main.mjs\n');
    assert.ok(existsSync(join(app, 'metrics/main.mjs')));
    assert.ok(!existsSync(join(app, 'old')), 'a previous install is replaced, not merged');
    assert.equal(builder.result(), 'ok\n');
    assert.equal(readFileSync(join(builder.root, 'etc/machine-id'), 'utf8'), '');
    const calls = builder.calls();
    assert.equal(
      calls[0],
      'dnf install -y nodejs24 aws-cfn-bootstrap amazon-cloudwatch-agent logrotate postgresql16-server postgresql16 amazon-efs-utils jq',
    );
    assert.ok(calls.includes('systemctl mask postgresql.service'));
    assert.ok(calls.includes('useradd --system --no-create-home --shell /sbin/nologin cloudy'));
    assert.ok(calls.includes(`node-24 --check ${app}.new/web/main.mjs`));
    assert.ok(calls.includes('cloud-init clean --logs'));
    assert.equal(calls.at(-1), 'systemctl poweroff --no-block');
  });

  it('bakes the RDS certificate bundle, fetched over HTTPS only, readable by the app', () => {
    const run = builder.run();

    assert.equal(run.status, 0, run.stderr);
    assert.equal(builder.file('opt/cloudy/rds-ca/global-bundle.pem'), RDS_BUNDLE);
    assert.equal(builder.mode('opt/cloudy/rds-ca/global-bundle.pem'), 0o644);
    assert.ok(
      builder
        .calls()
        .some((call) =>
          /^curl .*--proto =https .*https:\/\/truststore\.pki\.rds\.amazonaws\.com\/global\/global-bundle\.pem$/.test(
            call,
          ),
        ),
    );
  });

  it('fails the bake when what it fetched as the RDS bundle holds no certificate', () => {
    writeFileSync(join(builder.root, 'rds-bundle.pem'), '<html>error</html>\n');

    const run = builder.run();

    assert.notEqual(run.status, 0);
    assert.match(
      builder.result(),
      /^failed with status 1 at line \d+: grep -q -- '-----BEGIN CERTIFICATE-----'/,
    );
    assert.ok(!existsSync(join(builder.root, 'opt/cloudy/rds-ca/global-bundle.pem')));
  });

  it('refuses a bundle whose checksum differs, reports where it failed, and powers off all the same', () => {
    // Act
    const run = builder.run('0'.repeat(64));

    // Assess
    assert.notEqual(run.status, 0);
    assert.match(builder.result(), /^failed with status 1 at line \d+: sha256sum --check --status/);
    assert.ok(!existsSync(join(builder.root, 'opt/cloudy/dist')));
    assert.equal(builder.calls().at(-1), 'systemctl poweroff --no-block');
  });
});
