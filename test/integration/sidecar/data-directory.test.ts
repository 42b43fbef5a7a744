import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dataDirectory } from '../../../ec2/sidecar/postgres/data-directory';

// The parts of the data directory that need a real file system and the real `sync` program.
describe('dataDirectory', () => {
  const root = mkdtempSync(join(tmpdir(), 'cloudy-data-directory-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const directory = dataDirectory({
    pgdata: join(root, 'pgdata'),
    binDir: '/nonexistent',
    // Never initialised here (no binaries): the access model is only named, none of its files is read.
    access: {
      superuser: 'postgres',
      application: { user: 'cloudy', database: 'cloudy', passwordFile: join(root, 'password') },
      tls: { certFile: join(root, 'server.crt'), keyFile: join(root, 'server.key') },
      maxConnections: 20,
    },
    runAs: { spawnOptions: {} },
  });

  it('flushes the file system with syncfs, within a deadline read from the monotonic clock', async () => {
    // Act: deadlines are fractional milliseconds (performance.now()).
    const synced = await directory.syncFileSystem(1_500.7);
    const tooLate = await directory.syncFileSystem(0.4);
    // Assess
    assert.deepEqual(synced, { ok: true });
    assert.equal(tooLate.ok, false);
  });

  it('seeds a lost lease from the token recorded on the storage, and refuses an unreadable one', () => {
    assert.equal(directory.recordedToken(), 0);
    directory.claim(41);
    assert.equal(directory.recordedToken(), 41);
    writeFileSync(join(root, 'cloudy-fencing-token'), 'garbage\n');
    assert.throws(() => directory.recordedToken(), /holds no fencing token/);
  });
});
