import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Bundle {
  archive: Buffer;
  sha256: string;
}

/**
 * `npm run build` into a scratch folder, packed as one .tar.gz whose entries are web/, metrics/, sidecar/
 * (unpacked on the builder into /opt/cloudy/dist). dist/ in the working tree is left alone.
 */
export function buildBundle(projectRoot: string): Bundle {
  const scratch = mkdtempSync(join(tmpdir(), 'cloudy-bake-'));
  try {
    const out = join(scratch, 'dist');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', out], {
      cwd: projectRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const archivePath = join(scratch, 'bundle.tar.gz');
    execFileSync('tar', ['-czf', archivePath, '-C', out, '.']);
    const archive = readFileSync(archivePath);
    return { archive, sha256: createHash('sha256').update(archive).digest('hex') };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
