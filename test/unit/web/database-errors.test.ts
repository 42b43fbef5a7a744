import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DatabaseUnavailableError,
  DuplicateValueError,
  isAuthenticationFailure,
  isDatabaseUnavailable,
  toDatabaseError,
} from '../../../web/db/database-errors';

describe('toDatabaseError', () => {
  it('turns a unique violation into a duplicate value naming the column, whatever the table', () => {
    for (const [table, constraint, field] of [
      ['users', 'users_email_unique', 'email'],
      ['users', 'users_username_unique', 'username'],
      ['teams', 'teams_display_name_unique', 'display_name'],
    ] as const) {
      const driverError = { code: '23505', table, constraint, message: 'duplicate key ...' };
      const error = toDatabaseError(driverError);
      assert.ok(error instanceof DuplicateValueError, constraint);
      assert.equal(error.field, field);
      assert.equal(error.cause, driverError);
    }
  });

  it('names no column for a unique constraint outside the naming convention', () => {
    for (const driverError of [
      { code: '23505', table: 'users', constraint: 'users_pkey' },
      { code: '23505', table: 'users', constraint: 'users__unique' },
      { code: '23505', constraint: 'users_email_unique' },
      { code: '23505' },
    ]) {
      const error = toDatabaseError(driverError);
      assert.ok(error instanceof DuplicateValueError, JSON.stringify(driverError));
      assert.equal(error.field, 'value');
    }
  });

  it('treats an unreachable or restarting database as temporarily unavailable, keeping the cause', () => {
    // Prepare
    const unavailable = [
      { name: 'KnexTimeoutError', message: 'Knex: Timeout acquiring a connection.' },
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      { code: '57P01', message: 'terminating connection due to administrator command' },
      { code: '57P03', message: 'the database system is starting up' },
      { code: '08006', message: 'connection failure' },
      { code: '57014', message: 'canceling statement due to statement timeout' },
      { code: '28P01', message: 'password authentication failed' },
      { message: 'Connection terminated unexpectedly' },
      // An untrusted server certificate: never talked to, so away to the client (db/server-tls.ts).
      { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' },
    ];
    // Act / Assess
    for (const driverError of unavailable) {
      const error = toDatabaseError(driverError);
      assert.ok(error instanceof DatabaseUnavailableError, JSON.stringify(driverError));
      assert.equal(error.cause, driverError);
      assert.doesNotMatch(error.message, /ECONN|57P|administrator|password/);
    }
  });

  it('passes programming errors through unchanged, for the generic 500 handler', () => {
    // Prepare
    const missingTable = { code: '42P01', message: 'relation "users" does not exist' };
    // Act
    const bug = new TypeError('x is undefined');
    // Assess
    assert.equal(toDatabaseError(missingTable), missingTable);
    assert.equal(toDatabaseError(bug), bug);
    assert.equal(toDatabaseError(undefined), undefined);
  });
});

describe('isDatabaseUnavailable', () => {
  it('recognises an error already translated, as the read routing sees runPrepared failures', () => {
    // Prepare
    const refused = { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' };
    // Act / Assess
    assert.equal(isDatabaseUnavailable(toDatabaseError(refused)), true);
    assert.equal(isDatabaseUnavailable(toDatabaseError({ code: '23505' })), false);
  });
});

describe('isAuthenticationFailure', () => {
  it('recognises rejected credentials only', () => {
    assert.equal(isAuthenticationFailure({ code: '28P01' }), true);
    assert.equal(isAuthenticationFailure({ code: '28000' }), true);
    assert.equal(isAuthenticationFailure({ code: 'ECONNREFUSED' }), false);
  });
});
