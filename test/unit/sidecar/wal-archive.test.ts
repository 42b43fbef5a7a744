import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  archiveCommand,
  archiveFlags,
  pgbackrestConf,
  recoveryTargetTime,
} from '../../../ec2/sidecar/postgres/wal-archive';

const scratch = mkdtempSync(join(tmpdir(), 'cloudy-24-wal-archive-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in for pgBackRest that prints its arguments. */
const fakePgbackrest = join(scratch, 'pgbackrest');
writeFileSync(fakePgbackrest, '#!/bin/sh\necho "pushed $*"\n');
chmodSync(fakePgbackrest, 0o755);
const tokenFile = join(scratch, 'cloudy-fencing-token');
const settings = { stanza: 'cloudy', pgbackrest: fakePgbackrest, configFile: '/etc/pgbr.conf', tokenFile };

/** Runs the command as PostgreSQL would, with %p and %f filled in. */
function runArchiveCommand(command: string) {
  const filled = command
    .replaceAll('%p', 'pg_wal/000000010000000000000003')
    .replaceAll('%f', '000000010000000000000003');
  return spawnSync('sh', ['-c', filled], { encoding: 'utf8' });
}

describe('archiveCommand', () => {
  it('pushes the segment while the storage records this server’s token', () => {
    writeFileSync(tokenFile, '7\n');
    const result = runArchiveCommand(archiveCommand(settings, 7));
    assert.equal(result.status, 0);
    assert.equal(
      result.stdout.trim(),
      'pushed --config=/etc/pgbr.conf --stanza=cloudy archive-push pg_wal/000000010000000000000003',
    );
  });

  it('refuses, naming both tokens, once a later holder claimed the data directory', () => {
    writeFileSync(tokenFile, '8\n');
    const result = runArchiveCommand(archiveCommand(settings, 7));
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /not archiving 000000010000000000000003: .* fencing token 8, this server runs under 7/,
    );
  });

  it('refuses when the token file is missing or unreadable', () => {
    rmSync(tokenFile, { force: true });
    assert.equal(runArchiveCommand(archiveCommand(settings, 7)).status, 1);
  });

  it('without the guard pushes whatever the storage says (what the restore drill shows is unsafe)', () => {
    writeFileSync(tokenFile, '8\n');
    assert.equal(runArchiveCommand(archiveCommand({ ...settings, guard: false }, 7)).status, 0);
  });

  it('rejects a token that is not a positive integer and paths that would need quoting', () => {
    assert.throws(() => archiveCommand(settings, 0), /positive integer/);
    assert.throws(() => archiveCommand({ ...settings, tokenFile: '/x y' }, 1), /characters outside/);
  });

  it('puts archiving on the command line with the RPO’s archive_timeout', () => {
    const flags = archiveFlags(settings, 3);
    assert.ok(flags.includes('archive_mode=on'));
    assert.ok(flags.includes('archive_timeout=60'));
    assert.ok(flags.includes('wal_level=replica'));
  });
});

describe('pgbackrestConf', () => {
  it('configures the S3 repository with the instance role’s credentials and time-based retention', () => {
    const text = pgbackrestConf({
      stanza: 'cloudy',
      repository: { type: 's3', bucket: 'cloudy-dev-backups-abc', region: 'eu-west-1', path: '/pgbackrest' },
      retentionDays: 35,
      pgdata: '/var/lib/cloudy/efs/pgdata',
      socketDir: '/run/postgresql',
      port: 5432,
      superuser: 'postgres',
      lockPath: '/tmp/pgbackrest',
      logPath: '/var/log/cloudy',
    });
    for (const line of [
      'repo1-type=s3',
      'repo1-s3-bucket=cloudy-dev-backups-abc',
      'repo1-s3-endpoint=s3.eu-west-1.amazonaws.com',
      'repo1-s3-key-type=auto',
      'repo1-retention-full-type=time',
      'repo1-retention-full=35',
      '[cloudy]',
      'pg1-path=/var/lib/cloudy/efs/pgdata',
    ])
      assert.ok(text.split('\n').includes(line), line);
    assert.doesNotMatch(text, /key-secret|repo1-s3-key=/);
  });
});

describe('recoveryTargetTime', () => {
  it('writes the moment in the form pgBackRest and recovery_target_time read, in UTC', () => {
    assert.equal(recoveryTargetTime(new Date('2026-12-08T03:12:20.467Z')), '2026-12-08 03:12:20.467+00');
  });
});
