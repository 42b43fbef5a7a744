// The app's role in an Aurora cluster (handlers/bootstrap/app-role.ts), created and updated against a real
// PostgreSQL by an administrator who is not a superuser, as on Aurora (the RDS master user has CREATEROLE and
// CREATEDB through rds_superuser). Traffic goes to 127.0.0.1 only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type AppLogin, ensureAppRole } from '../../../handlers/bootstrap/app-role';
import { urlConnectionProvider } from '../../../shared/database-access/connection-provider';
import { createDatabase } from '../../../web/db/database';
import { migrateToLatest } from '../../../web/db/migrate';
import { startTestPostgres, type TestPostgres } from '../../support/local-postgres';

const ADMIN = { user: 'cloudyadmin', password: 'Adm1nPassw0rdFromRds' };

let server: TestPostgres;
const urlFor = (login: { user: string; password: string }, database: string) =>
  `postgres://${login.user}:${login.password}@127.0.0.1:${server.port}/${database}`;

/** What the bootstrap function opens: an administrator session on one database of the writer. */
const asAdministrator = async (database: string) => {
  const client = new pg.Client({ connectionString: urlFor(ADMIN, database) });
  await client.connect();
  return client;
};

/** Runs `sql` as `login` and returns the rows, or the error code it failed with. */
async function as(
  login: AppLogin,
  sql: string,
): Promise<{ rows?: Record<string, unknown>[]; code?: string }> {
  const client = new pg.Client({ connectionString: urlFor(login, login.database) });
  client.on('error', () => {});
  try {
    await client.connect();
    return { rows: (await client.query(sql)).rows };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

before(async () => {
  server = await startTestPostgres();
  const superuser = new pg.Client({ connectionString: server.url });
  await superuser.connect();
  // What the RDS master user may do: create roles and databases, and schemas in the postgres database.
  await superuser.query(
    `CREATE ROLE ${ADMIN.user} LOGIN CREATEROLE CREATEDB NOSUPERUSER PASSWORD '${ADMIN.password}'`,
  );
  await superuser.query(`GRANT CREATE ON DATABASE postgres TO ${ADMIN.user}`);
  await superuser.end();
});

after(async () => {
  await server?.destroy();
});

describe('ensureAppRole', () => {
  it('creates a login role with no other power, owning the schema its migrations fill', async () => {
    // Prepare
    const app: AppLogin = { user: 'cloudy', password: 'FirstPassw0rd', database: 'postgres' };
    // Act
    await ensureAppRole(asAdministrator, app);
    const db = createDatabase({ provider: urlConnectionProvider(urlFor(app, app.database)), poolMax: 1 });
    let applied: string[];
    try {
      applied = await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
    // Assess
    assert.ok(applied.length > 0);
    const tables = await as(
      app,
      "SELECT DISTINCT table_schema AS schema FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    assert.deepEqual(tables.rows, [{ schema: 'cloudy' }]);
    const attributes = await as(
      app,
      'SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user',
    );
    assert.deepEqual(attributes.rows, [
      {
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
        rolbypassrls: false,
      },
    ]);
    for (const sql of [
      'CREATE ROLE intruder LOGIN',
      'CREATE DATABASE intruder',
      'CREATE TABLE public.intruder (id int)',
    ]) {
      assert.equal((await as(app, sql)).code, '42501', sql);
    }
  });

  it('sets the secret’s new password when run again, and keeps the data', async () => {
    // Prepare
    const before_: AppLogin = { user: 'cloudy', password: 'FirstPassw0rd', database: 'postgres' };
    const rotated: AppLogin = { ...before_, password: 'SecondPassw0rd' };
    await as(before_, "INSERT INTO users (username, email) VALUES ('ann', 'ann@example.com')");
    // Act
    await ensureAppRole(asAdministrator, rotated);
    // Assess
    assert.equal((await as(before_, 'SELECT 1')).code, '28P01', 'the old password is refused');
    assert.deepEqual((await as(rotated, 'SELECT username FROM users')).rows, [{ username: 'ann' }]);
  });

  it('creates the database the secret names when it is not postgres, and lets the role into it only', async () => {
    // Prepare
    const app: AppLogin = { user: 'shop', password: 'ShopPassw0rd', database: 'shop' };
    // Act
    await ensureAppRole(asAdministrator, app);
    // Assess
    assert.deepEqual((await as(app, 'SELECT current_schema() AS schema')).rows, [{ schema: 'shop' }]);
    assert.deepEqual((await as(app, 'CREATE TABLE things (id int)')).rows, []);
    const otherRole: AppLogin = { user: 'cloudy', password: 'SecondPassw0rd', database: 'shop' };
    assert.equal((await as(otherRole, 'SELECT 1')).code, '42501', 'another role may not connect');
  });

  it('refuses a role or database name that is not a plain identifier, before touching the cluster', async () => {
    await assert.rejects(
      ensureAppRole(asAdministrator, {
        user: 'x"; DROP ROLE cloudyadmin; --',
        password: 'p',
        database: 'postgres',
      }),
      /not a plain lower-case identifier/,
    );
  });
});
