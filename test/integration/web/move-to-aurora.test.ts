// Moving a stage's data from the instance tier to Aurora (docs/DEPLOY.md, "Moving from instances to aurora"):
// the documented commands, run between two real servers. The source stands for the instance tier's PostgreSQL as
// the sidecar initialises it (the app's role owns its schema `cloudy` in the database `postgres`; the dump runs as
// the superuser), the target for the Aurora cluster after the deploy: the bootstrap function made the app's role
// as a non-superuser administrator (as the RDS master user is), and the app has migrated its empty schema.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { applicationBootstrap } from '../../../ec2/sidecar/postgres/access-model';
import { ensureAppRole } from '../../../handlers/bootstrap/app-role';
import { urlConnectionProvider } from '../../../shared/database-access/connection-provider';
import { createDatabase } from '../../../web/db/database';
import { migrateToLatest } from '../../../web/db/migrate';
import { knexUsersRepository, type User } from '../../../web/users/users-repository';
import {
  type DistributionServer,
  distributionPostgres,
  startDistributionServer,
} from '../../support/distribution-postgres';
import { startTestPostgres, type TestPostgres } from '../../support/local-postgres';

const run = promisify(execFile);
const APP = { user: 'cloudy', password: 'TheAppPassw0rd', database: 'postgres' };
const ADMIN = { user: 'cloudyadmin', password: 'TheAdminPassw0rd' };

/** `url` with another login. */
function as(url: string, login: { user: string; password: string }): string {
  const changed = new URL(url);
  changed.username = login.user;
  changed.password = login.password;
  return changed.href;
}

/** The app's users through its own repository, as the app sees them. */
async function withUsers<T>(
  url: string,
  work: (users: ReturnType<typeof knexUsersRepository>) => Promise<T>,
) {
  const db = createDatabase({ provider: urlConnectionProvider(url), poolMax: 1 });
  try {
    return await work(knexUsersRepository(db));
  } finally {
    await db.destroy();
  }
}

const listAll = async (url: string) =>
  withUsers(url, async (users) => JSON.parse((await users.list({ limit: 1000, after: 0 })).json) as User[]);

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

async function migrate(url: string): Promise<string[]> {
  const db = createDatabase({ provider: urlConnectionProvider(url), poolMax: 1 });
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

describe('moving the data from the instance tier to Aurora with pg_dump and pg_restore', () => {
  let source: DistributionServer;
  let target: TestPostgres;
  let work: string;
  let dump: string;
  let appOnSource: string;
  let appOnTarget: string;
  let before_: User[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cloudy-move-'));
    dump = join(work, 'cloudy.dump');
    // The instance tier as the sidecar initialises it and the app leaves it: migrated, with users.
    source = await startDistributionServer('postgres', 'TheSuperuserPassw0rd');
    for (const script of applicationBootstrap(APP, APP.password)) {
      for (const statement of script.statements) await query(source.url, statement);
    }
    appOnSource = as(source.url, APP);
    await migrate(appOnSource);
    await withUsers(appOnSource, async (users) => {
      for (const name of ['ann', 'bob', 'carol'])
        await users.add({ username: name, email: `${name}@example.com` });
    });
    before_ = await listAll(appOnSource);
    // The cluster after the deploy: the bootstrap function's role, and the app's migrations on an empty schema.
    target = await startTestPostgres();
    await query(
      target.url,
      `CREATE ROLE ${ADMIN.user} LOGIN CREATEROLE CREATEDB NOSUPERUSER PASSWORD '${ADMIN.password}'`,
    );
    await query(target.url, `GRANT CREATE ON DATABASE postgres TO ${ADMIN.user}`);
    await ensureAppRole(async (database) => {
      const client = new pg.Client({
        connectionString: as(target.url.replace(/\/postgres$/, `/${database}`), ADMIN),
      });
      await client.connect();
      return client;
    }, APP);
    appOnTarget = as(target.url, APP);
    await migrate(appOnTarget);
  });
  after(async () => {
    await source?.destroy();
    await target?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("dumps the app's rows and id sequence only, as the superuser on the primary", async () => {
    // Act (step 2 of the guide): the data of the app's schema, without knex's migration bookkeeping, which the
    // app has already written on the cluster.
    await run(distributionPostgres().pgDump, [
      '--format=custom',
      '--data-only',
      '--schema=cloudy',
      '--exclude-table=cloudy.knex_migrations*',
      `--file=${dump}`,
      source.url,
    ]);
    const { stdout } = await run(distributionPostgres().pgRestore, ['--list', dump]);
    // Assess
    const entries = stdout.split('\n').filter((line) => /^\d+;/.test(line));
    assert.deepEqual(
      entries.map((line) => line.replace(/^\d+; \d+ \d+ /, '').replace(/ \S+$/, '')),
      ['TABLE DATA cloudy users', 'SEQUENCE SET cloudy users_id_seq'],
    );
  });

  it('refuses, whole, to restore over a user the new tier took before the restore: nothing half-written', async () => {
    // Prepare: a write that reached the new tier between the deploy and the restore
    await withUsers(appOnTarget, (users) => users.add({ username: 'zed', email: 'zed@example.com' }));
    // Act (step 4, as the app's role, in one transaction)
    const restore = run(distributionPostgres().pgRestore, [
      '--data-only',
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--single-transaction',
      `--dbname=${appOnTarget}`,
      dump,
    ]);
    // Assess
    await assert.rejects(restore, /duplicate key value/);
    assert.deepEqual(
      (await listAll(appOnTarget)).map((user) => user.username),
      ['zed'],
    );
    // The guide's remedy: those users were made after the dump, on an empty database.
    await query(appOnTarget, 'DELETE FROM users');
  });

  it('restores every user and the id sequence under the app role; the app goes on numbering after them', async () => {
    // Act (step 4)
    await run(distributionPostgres().pgRestore, [
      '--data-only',
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--single-transaction',
      `--dbname=${appOnTarget}`,
      dump,
    ]);
    // Assess: its users, its schema up to date with the migrations recorded once, new ids after the old ones.
    assert.deepEqual(await listAll(appOnTarget), before_);
    assert.deepEqual(await migrate(appOnTarget), []);
    const recorded = (url: string) => query(url, 'SELECT count(*)::int AS migrations FROM knex_migrations');
    assert.deepEqual(await recorded(appOnTarget), await recorded(appOnSource));
    const withDave = await withUsers(appOnTarget, async (users) => {
      await users.add({ username: 'dave', email: 'dave@example.com' });
      return JSON.parse((await users.list({ limit: 1000, after: 0 })).json) as User[];
    });
    const dave = withDave.find((user) => user.username === 'dave');
    assert.ok(dave && dave.id > Math.max(...before_.map((user) => user.id)));
    assert.deepEqual(
      await query(target.url, "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'users'"),
      [{ schemaname: 'cloudy', tableowner: 'cloudy' }],
    );
  });
});
