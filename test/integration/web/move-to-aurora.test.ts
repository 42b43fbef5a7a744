// Moving a stage's data from the instance tier to Aurora (docs/DEPLOY.md, "Moving from instances to aurora"):
// the documented commands, run between two real servers. The source stands for the instance tier's PostgreSQL,
// where the app's user is the superuser; the target for the Aurora cluster, where an administrator (the embedded
// server's superuser here, the RDS-managed master user there) creates the app's own, unprivileged role first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { urlConnectionProvider } from '../../../web/db/connection-provider';
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
const APP_USER = 'cloudy';
const APP_PASSWORD = 'the-secret-password';

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

async function scalar(url: string, text: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows[0]?.value;
  } finally {
    await client.end();
  }
}

/** psql with the script on standard input (psql expands :'name' variables there, not in -c). */
function psql(url: string, script: string, variables: Record<string, string>): Promise<unknown> {
  const args = [
    '--no-psqlrc',
    '-v',
    'ON_ERROR_STOP=1',
    ...Object.entries(variables).flatMap(([k, v]) => ['-v', `${k}=${v}`]),
  ];
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(distributionPostgres().bin, 'psql'),
      [...args, '--dbname', url],
      (error, stdout, stderr) =>
        error ? reject(new Error(`psql failed: ${stderr}`, { cause: error })) : resolve(stdout),
    );
    child.stdin?.end(script);
  });
}

describe('moving the data from the instance tier to Aurora with pg_dump and pg_restore', () => {
  let source: DistributionServer;
  let target: TestPostgres;
  let work: string;
  let before_: User[];

  before(async () => {
    source = await startDistributionServer(APP_USER, APP_PASSWORD);
    work = mkdtempSync(join(tmpdir(), 'cloudy-move-'));
    // The instance tier as the app left it: migrated, with users.
    const sourceDb = createDatabase({ provider: urlConnectionProvider(source.url), poolMax: 1 });
    await migrateToLatest(sourceDb);
    await sourceDb.destroy();
    before_ = await withUsers(source.url, async (users) => {
      for (const name of ['ann', 'bob', 'carol'])
        await users.add({ username: name, email: `${name}@example.com` });
      return JSON.parse((await users.list({ limit: 1000, after: 0 })).json) as User[];
    });
    target = await startTestPostgres();
  });
  after(async () => {
    await source?.destroy();
    await target?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('restores every user, the id sequence and the migration state under the app role, without privileges', async () => {
    const { pgDump, pgRestore } = distributionPostgres();
    const dump = join(work, 'cloudy.dump');
    const appOnTarget = new URL(target.url);
    appOnTarget.username = APP_USER;
    appOnTarget.password = APP_PASSWORD;

    // Act, step 1 (on the instance tier's primary): the public schema's tables, without owners or grants.
    await run(pgDump, [
      '--format=custom',
      '--no-owner',
      '--no-privileges',
      '--table=public.*',
      `--file=${dump}`,
      source.url,
    ]);
    // Step 2 (as the cluster's administrator): the app's role, with the password of its secret.
    await psql(
      target.url,
      "CREATE ROLE cloudy LOGIN PASSWORD :'password';\nGRANT CREATE ON SCHEMA public TO cloudy;\n",
      { password: APP_PASSWORD },
    );
    // Step 3 (as the app's role): everything in one transaction, stopping at the first error.
    await run(pgRestore, [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--single-transaction',
      `--dbname=${appOnTarget.href}`,
      dump,
    ]);

    // Assess: the app on the target finds its schema up to date, its users, and goes on numbering after them.
    const targetDb = createDatabase({ provider: urlConnectionProvider(appOnTarget.href), poolMax: 1 });
    const applied = await migrateToLatest(targetDb);
    await targetDb.destroy();
    assert.deepEqual(applied, []);
    const [after_, withDave] = await withUsers(appOnTarget.href, async (users) => {
      const restored = JSON.parse((await users.list({ limit: 1000, after: 0 })).json) as User[];
      await users.add({ username: 'dave', email: 'dave@example.com' });
      return [restored, JSON.parse((await users.list({ limit: 1000, after: 0 })).json) as User[]] as const;
    });
    assert.deepEqual(after_, before_);
    const added = withDave.find((user) => user.username === 'dave');
    assert.ok(added && added.id > Math.max(...before_.map((user) => user.id)));
    assert.equal(
      await scalar(target.url, "select rolsuper as value from pg_roles where rolname = 'cloudy'"),
      false,
    );
    assert.equal(
      await scalar(target.url, "select tableowner as value from pg_tables where tablename = 'users'"),
      'cloudy',
    );
  });
});
