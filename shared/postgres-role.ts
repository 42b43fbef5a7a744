// What the database tier (ec2/sidecar) and Aurora's bootstrap function (handlers/bootstrap) both write when they
// create the application's PostgreSQL role.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** Role and database names are written into SQL and pg_hba.conf: only plain lower-case identifiers. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

const SCRAM_ITERATIONS = 4096;

/**
 * A SCRAM-SHA-256 verifier in PostgreSQL's stored format (RFC 5803 as pg_authid keeps it). CREATE ROLE stores a
 * verifier as given, so the password itself never reaches the server, nor its log when a statement fails.
 * PostgreSQL applies SASLprep to the password at login; for printable ASCII (what Secrets Manager generates)
 * that is the identity; `appRoleVerifier` refuses other passwords.
 */
function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * The application role's name checks and its SCRAM verifier: names that may be written into SQL unquoted-safe,
 * a password that SASLprep leaves as it is. Throws, naming the problem (never the password), otherwise.
 */
export function appRoleVerifier(app: { user: string; database: string; password: string }): string {
  for (const name of [app.user, app.database]) {
    if (!IDENTIFIER.test(name)) throw new Error(`not a plain lower-case identifier: ${name}`);
  }
  if (!/^[\x21-\x7e]+$/.test(app.password))
    throw new Error('the application password must be printable ASCII without spaces');
  return scramVerifier(app.password);
}
