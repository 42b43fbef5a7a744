import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../../shared/configuration';
import { readWebConfig } from '../../../web/config';

describe('readWebConfig', () => {
  it('needs only DATABASE_URL locally and fills in the defaults', () => {
    // Act
    const config = readWebConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' });
    // Assess
    assert.equal(config.PORT, 8080);
    assert.equal(config.VIRTUAL_IP, '10.10.10.10');
    assert.ok(config.SHUTDOWN_GRACE_MS < 20_000, 'drains within the target group deregistration delay');
  });

  it('honours PORT', () => {
    assert.equal(readWebConfig({ DATABASE_URL: 'postgres://127.0.0.1/db', PORT: '9090' }).PORT, 9090);
  });

  it('names every missing secret setting when there is no DATABASE_URL', () => {
    assert.throws(
      () => readWebConfig({ DB_SECRET_ID: 'cloudy/dev/db' }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.includes('DB_SECRET_ROLE_ARN') &&
        error.message.includes('DB_SECRET_REGION') &&
        error.message.includes('DB_CA_PARAMETER') &&
        !error.message.includes('DB_SECRET_ID:'),
    );
  });

  it('accepts the cross-account secret settings with the CA parameter', () => {
    // Act
    const config = readWebConfig({
      DB_SECRET_ROLE_ARN: 'arn:aws:iam::222222222222:role/reader',
      DB_SECRET_ID: 'cloudy/dev/db',
      DB_SECRET_REGION: 'eu-west-1',
      DB_CA_PARAMETER: '/cloudy/dev/database-ca-certificate',
    });
    // Assess
    assert.deepEqual(config.database, {
      kind: 'secret',
      roleArn: 'arn:aws:iam::222222222222:role/reader',
      secretId: 'cloudy/dev/db',
      secretRegion: 'eu-west-1',
      ca: { kind: 'parameter', name: '/cloudy/dev/database-ca-certificate' },
      writerHost: '10.10.10.10',
      readerHost: undefined,
    });
  });

  it('takes the CA from a PEM file instead (aurora), the parameter then exported empty', () => {
    // Act
    const config = readWebConfig({
      DB_SECRET_ROLE_ARN: 'arn:aws:iam::222222222222:role/reader',
      DB_SECRET_ID: 'cloudy/dev/db',
      DB_SECRET_REGION: 'eu-west-1',
      DB_CA_PARAMETER: '',
      DB_CA_FILE: '/opt/cloudy/rds-ca/global-bundle.pem',
    });
    // Assess
    assert.deepEqual(config.database.kind === 'secret' && config.database.ca, {
      kind: 'file',
      path: '/opt/cloudy/rds-ca/global-bundle.pem',
    });
  });

  it('refuses two CA sources, or none, without DATABASE_URL', () => {
    const secret = {
      DB_SECRET_ROLE_ARN: 'arn:aws:iam::222222222222:role/reader',
      DB_SECRET_ID: 'cloudy/dev/db',
      DB_SECRET_REGION: 'eu-west-1',
    };
    for (const ca of [
      { DB_CA_PARAMETER: '/cloudy/dev/database-ca-certificate', DB_CA_FILE: '/var/runtime/ca-cert.pem' },
      { DB_CA_PARAMETER: '', DB_CA_FILE: '' },
    ]) {
      assert.throws(
        () => readWebConfig({ ...secret, ...ca }),
        /exactly one of DB_CA_PARAMETER and DB_CA_FILE/,
      );
    }
  });

  it('rejects a port that is not a port, naming it', () => {
    assert.throws(() => readWebConfig({ DATABASE_URL: 'postgres://127.0.0.1/db', PORT: 'http' }), /PORT/);
  });
});
