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

  for (const name of scripts) {
    const path = join(folder, name);
    const text = readFileSync(path, 'utf8');

    it(`${name} passes shellcheck`, async () => {
      const result = await run('shellcheck', ['--shell=bash', '--severity=style', path]).catch(
        (error: unknown) => {
          const { code, stdout = '' } = error as { code?: string | number; stdout?: string };
          if (code === 'ENOENT')
            throw new Error('shellcheck is not installed (apt-get install -y shellcheck)');
          return { stdout: String(stdout) };
        },
      );
      assert.equal(result.stdout, '');
    });

    it(`${name} runs bash in strict mode`, () => {
      assert.match(text, /^#!\/bin\/bash\n/);
      assert.match(text, /^set -euo pipefail$/m);
    });

    it(`${name} writes shell variables without braces`, () => {
      const lines = text
        .split('\n')
        .flatMap((line, index) => (line.includes('${') ? [`${index + 1}: ${line}`] : []));
      assert.deepEqual(lines, []);
    });
  }
});
