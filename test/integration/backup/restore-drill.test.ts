// The restore drill (docs/DATABASE-TIER.md, "Backups"): real PostgreSQL started with the sidecar's archive
// settings, pgBackRest with the sidecar's configuration and a repository on local disk, writes through the web
// app, a base backup, more writes with their commit times, then point-in-time recovery into a fresh data
// directory: every write acknowledged before the chosen moment is there, none sent after it, and the restored
// cluster passes amcheck and its data checksums. Then the same across a takeover (crash of one holder, crash
// recovery and more archiving under the next), and the lease generation guarding the archive against a stale
// holder, shown together with what happens without the guard.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fencingTokenFile } from '../../../ec2/sidecar/postgres/data-directory';
import { type ArchiveCommandSettings, recoveryTargetTime } from '../../../ec2/sidecar/postgres/wal-archive';
import { urlConnectionProvider } from '../../../shared/database-access/connection-provider';
import { createLogger } from '../../../shared/logger';
import { createDatabase } from '../../../web/db/database';
import { migrateToLatest } from '../../../web/db/migrate';
import { type RunningWebServer, startWebServer } from '../../../web/server';
import {
  ArchiveRefused,
  archiveCurrentSegment,
  backupLabels,
  type DrillPaths,
  type DrillServer,
  drillPaths,
  initdb,
  ownedFolder,
  pgbackrest,
  pgbackrestBinary,
  recordToken,
  STANZA,
  startServer,
  type TimedWrite,
  verifyRestoredCluster,
  writeConfig,
  writeThroughApp,
} from '../../support/backup-drill';

/** Milliseconds of quiet around the chosen recovery moment, so that "before" and "after" are unambiguous. */
const GAP_MS = 400;

function archiveSettings(paths: DrillPaths, guard = true, config = paths.config): ArchiveCommandSettings {
  return {
    stanza: STANZA,
    pgbackrest: pgbackrestBinary(),
    configFile: config,
    tokenFile: fencingTokenFile(paths.pgdata),
    guard,
  };
}

async function startApp(server: DrillServer): Promise<RunningWebServer> {
  const migrator = createDatabase({ provider: urlConnectionProvider(server.url), poolMax: 1 });
  await migrateToLatest(migrator);
  await migrator.destroy();
  return startWebServer({
    dbPoolMax: 4,
    provider: urlConnectionProvider(server.url),
    logger: createLogger('drill', process.env.TEST_LOG_LEVEL ?? 'silent'),
    port: 0,
    host: '127.0.0.1',
    loadThreads: 1,
    loadQueueLimit: 4,
    shutdownGraceMs: 1_000,
  });
}

const baseUrl = (web: RunningWebServer) => `http://127.0.0.1:${web.port}`;

/** `count` writes through the app, one after the other, each with its send and acknowledgement times. */
async function writes(web: RunningWebServer, prefix: string, count: number): Promise<TimedWrite[]> {
  const done: TimedWrite[] = [];
  for (let i = 0; i < count; i += 1) done.push(await writeThroughApp(baseUrl(web), `${prefix}-${i}`));
  return done;
}

/** A moment with every write of `before` acknowledged earlier and every later write sent after it. */
async function chooseMoment(): Promise<Date> {
  await sleep(GAP_MS);
  const moment = new Date();
  await sleep(GAP_MS);
  return moment;
}

async function restoreInto(
  paths: DrillPaths,
  target: string,
  options: { toTime?: Date; set?: string },
): Promise<void> {
  const args = [`--pg1-path=${target}`];
  if (options.set) args.push(`--set=${options.set}`);
  if (options.toTime)
    args.push('--type=time', `--target=${recoveryTargetTime(options.toTime)}`, '--target-action=promote');
  await pgbackrest(paths, ...args, 'restore');
}

async function usernames(server: DrillServer): Promise<Set<string>> {
  const rows = await server.query<{ username: string }>('SELECT username FROM users');
  return new Set(rows.map((r) => r.username));
}

function assertExactly(found: Set<string>, expected: TimedWrite[], absent: TimedWrite[]): void {
  const missing = expected.filter((w) => !found.has(w.username)).map((w) => w.username);
  const extra = absent.filter((w) => found.has(w.username)).map((w) => w.username);
  assert.deepEqual(missing, [], 'writes acknowledged before the recovery point are missing');
  assert.deepEqual(extra, [], 'writes sent after the recovery point are present');
  assert.equal(found.size, expected.length);
}

describe('restore drill: pgBackRest, point-in-time recovery', { timeout: 300_000, concurrency: 2 }, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'cloudy-24-drill-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('restores to a chosen moment: every write acknowledged before it, none sent after it, pages and indexes clean', async () => {
    // Prepare: a holder's server with the sidecar's archive settings, the stanza, the app, a full backup.
    const paths = drillPaths(join(root, 'single'));
    await initdb(paths.pgdata);
    recordToken(fencingTokenFile(paths.pgdata), 1);
    let server = await startServer({ paths, archive: { settings: archiveSettings(paths), fencingToken: 1 } });
    writeConfig(paths, server.port);
    await pgbackrest(paths, 'stanza-create');
    await pgbackrest(paths, 'check');
    const web = await startApp(server);
    let restored: DrillServer | undefined;
    try {
      const beforeBackup = await writes(web, 'before-backup', 5);
      await pgbackrest(paths, '--type=full', 'backup');
      const beforeMoment = await writes(web, 'before-moment', 10);
      const moment = await chooseMoment();
      const afterMoment = await writes(web, 'after-moment', 10);
      await archiveCurrentSegment(server);

      // Act: point-in-time recovery into a fresh data directory, beside the running one.
      const target = join(paths.storage, 'pgdata.restore');
      ownedFolder(target);
      await restoreInto(paths, target, { toTime: moment });
      restored = await startServer({ paths, pgdata: target });

      // Assess
      assertExactly(await usernames(restored), [...beforeBackup, ...beforeMoment], afterMoment);
      await verifyRestoredCluster(restored);
    } finally {
      await restored?.stop();
      await web.stop();
      await server.stop();
    }
    // The source is untouched by the restore: its writes are all still there.
    server = await startServer({ paths });
    assert.equal((await usernames(server)).size, 25);
    await server.stop();
  });

  it('restores past a takeover: backed up on one holder, crashed, recovered and archiving under the next', async () => {
    // Prepare: holder 1 archives and takes the full backup.
    const paths = drillPaths(join(root, 'takeover'));
    await initdb(paths.pgdata);
    const tokenFile = fencingTokenFile(paths.pgdata);
    recordToken(tokenFile, 1);
    const first = await startServer({
      paths,
      archive: { settings: archiveSettings(paths), fencingToken: 1 },
    });
    const port = first.port;
    writeConfig(paths, port);
    await pgbackrest(paths, 'stanza-create');
    let web = await startApp(first);
    let second: DrillServer | undefined;
    let restored: DrillServer | undefined;
    try {
      const onFirst = await writes(web, 'first', 5);
      await pgbackrest(paths, '--type=full', 'backup');
      const [fullBackup] = await backupLabels(paths);
      const moreOnFirst = await writes(web, 'first-more', 5);

      // The takeover: holder 1's PostgreSQL dies at once (self-fence, fence), holder 2 claims the directory with
      // the next token and starts PostgreSQL on it, which runs crash recovery and continues the same timeline.
      await first.crash();
      await web.stop();
      recordToken(tokenFile, 2);
      second = await startServer({
        paths,
        port,
        archive: { settings: archiveSettings(paths), fencingToken: 2 },
      });
      web = await startApp(second);
      const onSecond = await writes(web, 'second', 5);
      await pgbackrest(paths, '--type=diff', 'backup');
      const moreOnSecond = await writes(web, 'second-more', 5);
      const moment = await chooseMoment();
      const afterMoment = await writes(web, 'after-moment', 5);
      await archiveCurrentSegment(second);

      // Act: from holder 1's full backup, replaying the WAL both holders archived, to a moment after the takeover.
      const target = join(paths.storage, 'pgdata.restore');
      ownedFolder(target);
      assert.ok(fullBackup);
      await restoreInto(paths, target, { toTime: moment, set: fullBackup });
      restored = await startServer({ paths, pgdata: target });

      // Assess
      assertExactly(
        await usernames(restored),
        [...onFirst, ...moreOnFirst, ...onSecond, ...moreOnSecond],
        afterMoment,
      );
      await verifyRestoredCluster(restored);
    } finally {
      await restored?.stop();
      await web.stop();
      await second?.stop();
      await first.stop();
    }
  });
});

describe('restore drill: the lease generation guards the archive', {
  timeout: 300_000,
  concurrency: 2,
}, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'cloudy-24-guard-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /**
   * A stale holder next to the current one: both run on the same history (a copy of the directory stands for
   * the one directory, which two servers cannot open here), the stale one under token 1, the current one under
   * token 2 with the storage recording 2. Each commits a write of its own and closes the same WAL segment; the
   * stale holder archives first. Then the archive is restored to its end.
   */
  async function staleHolderScenario(name: string, guard: boolean): Promise<Set<string>> {
    const paths = drillPaths(join(root, name));
    await initdb(paths.pgdata);
    const tokenFile = fencingTokenFile(paths.pgdata);
    recordToken(tokenFile, 1);
    const server = await startServer({
      paths,
      archive: { settings: archiveSettings(paths, guard), fencingToken: 1 },
    });
    writeConfig(paths, server.port);
    await pgbackrest(paths, 'stanza-create');
    await server.query('CREATE TABLE writes (holder text NOT NULL)');
    await pgbackrest(paths, '--type=full', 'backup');
    await server.stop();

    const copy = join(paths.storage, 'pgdata.current');
    execFileSync('cp', ['-a', paths.pgdata, copy]);
    const copyConfig = join(paths.root, 'etc', 'current.conf');
    const stale = await startServer({
      paths,
      archive: { settings: archiveSettings(paths, guard), fencingToken: 1 },
    });
    writeConfig(paths, stale.port);
    recordToken(tokenFile, 2);
    const current = await startServer({
      paths,
      pgdata: copy,
      archive: { settings: archiveSettings(paths, guard, copyConfig), fencingToken: 2 },
    });
    writeConfig(paths, current.port, copy, copyConfig);
    let restored: DrillServer | undefined;
    try {
      await stale.query("INSERT INTO writes VALUES ('stale')");
      await archiveCurrentSegment(stale).catch((error: unknown) => {
        if (!(error instanceof ArchiveRefused)) throw error;
      });
      await current.query("INSERT INTO writes VALUES ('current')");
      await archiveCurrentSegment(current).catch((error: unknown) => {
        if (!(error instanceof ArchiveRefused)) throw error;
      });
      await stale.stop();
      await current.stop();
      const target = join(paths.storage, 'pgdata.restore');
      ownedFolder(target);
      await restoreInto(paths, target, {});
      restored = await startServer({ paths, pgdata: target });
      const rows = await restored.query<{ holder: string }>('SELECT holder FROM writes');
      return new Set(rows.map((r) => r.holder));
    } finally {
      await restored?.stop();
      await stale.stop();
      await current.stop();
    }
  }

  it('archives only the current holder’s history: a server under a replaced token refuses to archive', async () => {
    assert.deepEqual(await staleHolderScenario('guarded', true), new Set(['current']));
  });

  it('without the guard the stale holder’s segment wins the archive and the current holder’s writes are lost to a restore', async () => {
    assert.deepEqual(await staleHolderScenario('unguarded', false), new Set(['stale']));
  });
});
