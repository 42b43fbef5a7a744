// Instance boot scripts: shellcheck-clean, strict, and safe to inline with ${file(...)} (osls re-reads `${...}`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const folder = resolve(import.meta.dirname, '../../../userdata');
const scripts = readdirSync(folder).filter((name) => name.endsWith('.sh'));

describe('userdata/*.sh', () => {
  it('holds the boot scripts of the launch templates, the NAT instance and the AMI builder', () => {
    for (const name of ['bake-ami.sh', 'database.sh', 'nat-instance.sh', 'webserver.sh'])
      assert.ok(scripts.includes(name), name);
  });

  it('bakes into the AMI every file the web and database boot scripts require of it (the AMI contract)', () => {
    // Prepare
    const read = (name: string) => readFileSync(join(folder, name), 'utf8');
    // Act / Assess
    // The words of a `for NAME in ...; do` list, across line continuations, with the scripts' path variables.
    // The RDS certificate bundle's path, as a script sets it (the bake writes under $ROOT, like every path).
    const rdsBundle = (text: string) => /^RDS_CA_BUNDLE=(?:\$ROOT)?(\S+)$/m.exec(text)?.[1] ?? '';
    const loopWords = (text: string, variable: string) => {
      const match = new RegExp(`^for ${variable} in ([^;]*); do$`, 'm').exec(text.replaceAll('\\\n', ' '));
      assert.ok(match, `a for ${variable} loop`);
      return (match[1] ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((word) =>
          word
            .replace('$NODE', '/usr/bin/node-24')
            .replace('$APP_DIR', '/opt/cloudy/dist')
            .replace('$RDS_CA_BUNDLE', rdsBundle(text)),
        );
    };
    const bake = read('bake-ami.sh');
    const baked = new Set([
      '/usr/bin/node-24', // "$NODE" --version
      ...loopWords(bake, 'FILE'),
      ...loopWords(bake, 'ENTRY').map((entry) => `/opt/cloudy/dist/${entry}`),
      rdsBundle(bake), // install -D ... "$RDS_CA_BUNDLE"
    ]);
    assert.match(bake, /^install -D -m 0644 "\$WORK_DIR\/rds-ca\.pem" "\$RDS_CA_BUNDLE"$/m);
    for (const script of ['webserver.sh', 'database.sh']) {
      const required = loopWords(read(script), 'FILE');
      assert.ok(required.length > 0, script);
      assert.deepEqual(
        required.filter((file) => !baked.has(file)),
        [],
        `${script} requires files that bake-ami.sh does not check`,
      );
    }
  });

  for (const name of scripts) {
    const path = join(folder, name);
    const text = readFileSync(path, 'utf8');

    it(`${name} passes shellcheck`, async () => {
      // Act
      const result = await run('shellcheck', ['--shell=bash', '--severity=style', path]).catch(
        (error: unknown) => {
          const { code, stdout = '' } = error as { code?: string | number; stdout?: string };
          if (code === 'ENOENT')
            throw new Error('shellcheck is not installed (apt-get install -y shellcheck)');
          return { stdout: String(stdout) };
        },
      );
      // Assess
      assert.equal(result.stdout, '');
    });

    it(`${name} runs bash in strict mode`, () => {
      assert.match(text, /^#!\/bin\/bash\n/);
      assert.match(text, /^set -euo pipefail$/m);
    });

    it(`${name} writes shell variables without braces`, () => {
      // Act
      const lines = text
        .split('\n')
        .flatMap((line, index) => (line.includes('${') ? [`${index + 1}: ${line}`] : []));
      // Assess
      assert.deepEqual(lines, []);
    });
  }
});
