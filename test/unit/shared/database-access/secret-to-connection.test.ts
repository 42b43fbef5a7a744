import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidSecretError,
  secretToConnection,
} from '../../../../shared/database-access/secret-to-connection';

describe('secretToConnection', () => {
  it('maps an RDS-style secret and defaults the host to the virtual IP', () => {
    // Act
    const secret = JSON.stringify({
      username: 'app',
      password: 's3cr3t',
      dbname: 'cloudy',
      engine: 'postgres',
    });
    // Assess
    assert.deepEqual(secretToConnection(secret, '10.10.10.10'), {
      host: '10.10.10.10',
      port: 5432,
      user: 'app',
      password: 's3cr3t',
      database: 'cloudy',
    });
  });

  it('keeps a host and port the secret names (port may be a string)', () => {
    // Act
    const secret = JSON.stringify({ username: 'app', password: 'pw', host: 'db.internal', port: '6432' });
    const connection = secretToConnection(secret, '10.10.10.10');
    // Assess
    assert.equal(connection.host, 'db.internal');
    assert.equal(connection.port, 6432);
    assert.equal(connection.database, 'postgres');
  });

  it('names missing keys without echoing any value', () => {
    // Prepare
    const secret = JSON.stringify({ username: 'app', port: 99999, host: 'leaky-host-value' });
    // Act / Assess
    assert.throws(
      () => secretToConnection(secret, '10.10.10.10'),
      (error: unknown) =>
        error instanceof InvalidSecretError &&
        /password/.test(error.message) &&
        /port/.test(error.message) &&
        !error.message.includes('leaky') &&
        !error.message.includes('99999'),
    );
  });

  it('rejects text that is not JSON without echoing it', () => {
    assert.throws(
      () => secretToConnection('password=hunter2', '10.10.10.10'),
      (error: unknown) => error instanceof InvalidSecretError && !error.message.includes('hunter2'),
    );
  });
});
