import { appRoleVerifier } from '../../../shared/postgres-role';

/**
 * Who may log in, and how, written into the data directory at its first initialisation: the superuser has no
 * password and logs in only over the local socket by peer authentication (the sidecar's readiness probe and
 * maintenance as the `postgres` OS user); the application's own role owns one schema in one database and may log
 * in only over TLS with SCRAM.
 */
export interface AccessModel {
  superuser: string;
  application: { user: string; database: string; passwordFile: string };
  tls: { certFile: string; keyFile: string };
  maxConnections: number;
}

/** SQL run in single-user mode before the server first starts: one statement per line, per database. */
export interface BootstrapScript {
  database: string;
  statements: string[];
}

/**
 * The application role and what it owns: LOGIN and nothing else (no superuser, no CREATEROLE, no CREATEDB,
 * no replication, no membership in pg_execute_server_program or pg_read_server_files), CONNECT on its one
 * database (revoked from PUBLIC), and a schema of its own, first on its search path, where its migrations
 * create the tables and knex's migration bookkeeping.
 */
export function applicationBootstrap(
  application: { user: string; database: string },
  password: string,
): BootstrapScript[] {
  const { user, database } = application;
  const verifier = appRoleVerifier({ user, database, password });
  // Owned by the session's user, the bootstrap superuser (DB_SUPERUSER, the OS user PostgreSQL runs as), whatever
  // its name: no `OWNER` clause, since the superuser need not be called postgres.
  const createDatabase = database === 'postgres' ? [] : [`CREATE DATABASE "${database}";`];
  return [
    {
      database: 'postgres',
      statements: [
        `CREATE ROLE "${user}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD '${verifier}';`,
        ...createDatabase,
        `REVOKE ALL ON DATABASE "${database}" FROM PUBLIC;`,
        `GRANT CONNECT ON DATABASE "${database}" TO "${user}";`,
      ],
    },
    {
      database,
      statements: [
        `CREATE SCHEMA "${user}" AUTHORIZATION "${user}";`,
        'REVOKE ALL ON SCHEMA public FROM PUBLIC;',
        `ALTER ROLE "${user}" IN DATABASE "${database}" SET search_path = "${user}";`,
      ],
    },
  ];
}

/** The whole pg_hba.conf: anything not matched by a line here is refused. */
export function hbaConf(model: AccessModel): string {
  const header = '# Written by the cloudy sidecar at the first initialisation (docs/DATABASE-TIER.md).\n';
  const { superuser, application } = model;
  return [
    header.trimEnd(),
    `local all ${superuser} peer`,
    `hostssl ${application.database} ${application.user} 0.0.0.0/0 scram-sha-256`,
    `hostssl ${application.database} ${application.user} ::/0 scram-sha-256`,
    '',
  ].join('\n');
}

/** Lines appended to postgresql.conf: the connection limit, SCRAM and TLS. */
export function serverConf(model: AccessModel): string {
  const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;
  const lines = [
    '# cloudy: written at the first initialisation (docs/DATABASE-TIER.md, connection budget)',
    `max_connections = ${model.maxConnections}`,
    'password_encryption = scram-sha-256',
    'ssl = on',
    `ssl_cert_file = ${quote(model.tls.certFile)}`,
    `ssl_key_file = ${quote(model.tls.keyFile)}`,
    "ssl_min_protocol_version = 'TLSv1.2'",
  ];
  return `${lines.join('\n')}\n`;
}
