import { appRoleVerifier } from '../../shared/postgres-role';

/** The app's role as the secrets account's secret names it. */
export interface AppLogin {
  user: string;
  password: string;
  database: string;
}

/** What the cluster already holds, read before anything is changed. */
export interface ExistingObjects {
  role: boolean;
  database: boolean;
}

/** Statements for one database, in order; `outsideTransaction` for CREATE DATABASE, which refuses a transaction. */
export interface StatementBatch {
  database: string;
  outsideTransaction?: boolean;
  statements: string[];
}

/**
 * What the Aurora cluster's administrator runs so that the app logs in as its own role, the same as the instance
 * tier's first initialisation gives it (ec2/sidecar/postgres/access-model.ts): LOGIN and nothing else, CONNECT
 * on its database, a schema of its own first on its search path, where its migrations create the tables. Safe to
 * run again: an existing role gets the secret's current password (a rotation), nothing else changes. The
 * administrator is not a superuser on Aurora (it is a member of rds_superuser, with CREATEROLE and CREATEDB):
 * creating a schema owned by the app's role needs membership in that role, which the administrator may grant
 * itself as the role's creator.
 */
export function appRoleStatements(app: AppLogin, existing: ExistingObjects): StatementBatch[] {
  const { user, database } = app;
  // A SCRAM verifier, not the password: the password never reaches the server or its log.
  const verifier = appRoleVerifier(app);
  const role = existing.role
    ? `ALTER ROLE "${user}" WITH LOGIN PASSWORD '${verifier}';`
    : `CREATE ROLE "${user}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD '${verifier}';`;
  const batches: StatementBatch[] = [
    { database: 'postgres', statements: [role, `GRANT "${user}" TO CURRENT_USER;`] },
  ];
  if (!existing.database) {
    batches.push({
      database: 'postgres',
      outsideTransaction: true,
      statements: [`CREATE DATABASE "${database}";`],
    });
  }
  // Every role may connect to `postgres` (PUBLIC's default); a database of the app's own admits it alone.
  if (database !== 'postgres') {
    batches.push({
      database: 'postgres',
      statements: [
        `REVOKE ALL ON DATABASE "${database}" FROM PUBLIC;`,
        `GRANT CONNECT ON DATABASE "${database}" TO "${user}";`,
      ],
    });
  }
  batches.push({
    database,
    statements: [
      `CREATE SCHEMA IF NOT EXISTS "${user}" AUTHORIZATION "${user}";`,
      `ALTER ROLE "${user}" IN DATABASE "${database}" SET search_path = "${user}";`,
    ],
  });
  return batches;
}

/** The part of a pg client this needs. */
export interface SqlSession {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

/**
 * Creates or updates the app's role, as the administrator: `connect(database)` opens an administrator session on
 * that database of the cluster's writer. Each batch runs in one transaction (but CREATE DATABASE).
 */
export async function ensureAppRole(
  connect: (database: string) => Promise<SqlSession>,
  app: AppLogin,
): Promise<void> {
  const admin = await connect('postgres');
  let existing: ExistingObjects;
  try {
    const { rows } = await admin.query(
      'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role, EXISTS (SELECT 1 FROM pg_database WHERE datname = $2) AS database',
      [app.user, app.database],
    );
    existing = { role: rows[0]?.role === true, database: rows[0]?.database === true };
  } finally {
    await admin.end();
  }
  for (const batch of appRoleStatements(app, existing)) {
    const session = await connect(batch.database);
    try {
      if (batch.outsideTransaction) {
        for (const statement of batch.statements) await session.query(statement);
        continue;
      }
      await session.query('BEGIN');
      for (const statement of batch.statements) await session.query(statement);
      await session.query('COMMIT');
    } finally {
      await session.end();
    }
  }
}
