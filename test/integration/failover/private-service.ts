import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const SERVICE_FILES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'resources',
  'handlers',
  'web',
  'ec2',
  'shared',
  'userdata',
  'scripts',
];

/**
 * A private copy of the service (sharing node_modules), so that the .esbuild/ work folder of an `sls` command run
 * here cannot collide with another test's `sls package` in the repository.
 */
export function privateServiceCopy(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cloudy-failover-'));
  for (const entry of SERVICE_FILES) cpSync(join(REPO, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
