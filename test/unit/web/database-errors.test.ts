import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAuthenticationFailure, toHttpError } from '../../../ec2/web/db/database-errors';
import { ConflictError, DatabaseUnavailableError } from '../../../ec2/web/http/errors';

describe('toHttpError', () => {
  it('turns a unique violation into a conflict naming the column', () => {
    const error = toHttpError({
      code: '23505',
      constraint: 'users_email_unique',
      message: 'duplicate key ...',
    });
    assert.ok(error instanceof ConflictError);
    assert.equal(error.field, 'email');
    assert.deepEqual(error.body(), { error: 'email already exists', field: 'email' });
  });

  it('treats an unreachable or restarting database as temporarily unavailable', () => {
    const unavailable = [
      { name: 'KnexTimeoutError', message: 'Knex: Timeout acquiring a connection.' },
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      { code: '57P01', message: 'terminating connection due to administrator command' },
      { code: '57P03', message: 'the database system is starting up' },
      { code: '08006', message: 'connection failure' },
      { code: '57014', message: 'canceling statement due to statement timeout' },
      { code: '28P01', message: 'password authentication failed' },
      { message: 'Connection terminated unexpectedly' },
    ];
    for (const error of unavailable) {
      const http = toHttpError(error);
      assert.ok(http instanceof DatabaseUnavailableError, JSON.stringify(error));
      assert.equal(http.status, 503);
      assert.doesNotMatch(JSON.stringify(http.body()), /ECONN|57P|administrator|password/);
    }
  });

  it('leaves programming errors to the generic 500 handler', () => {
    assert.equal(toHttpError({ code: '42P01', message: 'relation "users" does not exist' }), undefined);
    assert.equal(toHttpError(new TypeError('x is undefined')), undefined);
    assert.equal(toHttpError(undefined), undefined);
  });
});

describe('isAuthenticationFailure', () => {
  it('recognises rejected credentials only', () => {
    assert.equal(isAuthenticationFailure({ code: '28P01' }), true);
    assert.equal(isAuthenticationFailure({ code: '28000' }), true);
    assert.equal(isAuthenticationFailure({ code: 'ECONNREFUSED' }), false);
  });
});
