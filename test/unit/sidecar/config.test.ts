import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSidecarConfig } from '../../../ec2/sidecar/config';
import { ConfigurationError } from '../../../shared/configuration';

const aws = {
  HOLDER_ID: 'i-0123456789abcdef0',
  LEASE_TABLE: 'cloudy-dev-lease',
  AWS_REGION: 'eu-west-1',
  STAGE: 'dev',
  ROUTE_TABLE_IDS: 'rtb-1, rtb-2',
  PGDATA: '/var/lib/cloudy/efs/pgdata',
  DB_PASSWORD_FILE: '/etc/cloudy/db-password',
  DB_APP_USER: 'cloudy',
  PG_SSL_CERT_FILE: '/var/lib/cloudy/efs/tls/server.crt',
  PG_SSL_KEY_FILE: '/var/lib/cloudy/efs/tls/server.key',
  PG_MAX_CONNECTIONS: '120',
};

describe('readSidecarConfig', () => {
  it('derives the timing from the TTL: renew every TTL/5, self-fence 30 % before expiry', () => {
    // Act
    const config = readSidecarConfig(aws);
    // Assess
    assert.deepEqual(config.timing, {
      ttlMs: 10_000,
      renewIntervalMs: 2_000,
      selfFenceMarginMs: 3_000,
      clockSkewMs: 500,
    });
    assert.deepEqual(config.ec2, {
      region: 'eu-west-1',
      stage: 'dev',
      routeTableIds: ['rtb-1', 'rtb-2'],
      virtualIp: '10.10.10.10',
      skipOsShutdown: true,
    });
    assert.equal(config.LEASE_NAME, 'database-primary');
  });

  it('names every missing key', () => {
    assert.throws(
      () => readSidecarConfig({}),
      (error: Error) =>
        error instanceof ConfigurationError &&
        ['HOLDER_ID', 'LEASE_TABLE', 'PGDATA', 'DB_PASSWORD_FILE'].every((key) =>
          error.message.includes(key),
        ),
    );
  });

  it('requires the region, the stage and the route tables', () => {
    // Prepare
    const { AWS_REGION: _region, STAGE: _stage, ...withoutRegionAndStage } = aws;
    // Act / Assess
    assert.throws(() => readSidecarConfig({ ...aws, ROUTE_TABLE_IDS: ' , ' }), /ROUTE_TABLE_IDS/);
    assert.throws(() => readSidecarConfig(withoutRegionAndStage), /AWS_REGION.*STAGE/s);
  });

  it('refuses timings under which a lost renewal would already force a self-fence', () => {
    assert.throws(
      () => readSidecarConfig({ ...aws, LEASE_TTL_MS: '10000', LEASE_RENEW_INTERVAL_MS: '4000' }),
      /LEASE_RENEW_INTERVAL_MS/,
    );
    assert.throws(() => readSidecarConfig({ ...aws, SELF_FENCE_MARGIN_MS: '10000' }), /SELF_FENCE_MARGIN_MS/);
  });

  it('admits the application role over TLS, the superuser only by peer, the connection limit explicit', () => {
    // Act
    const config = readSidecarConfig(aws);
    // Assess
    assert.deepEqual(config.access, {
      superuser: 'postgres',
      application: { user: 'cloudy', database: 'postgres', passwordFile: '/etc/cloudy/db-password' },
      tls: { certFile: '/var/lib/cloudy/efs/tls/server.crt', keyFile: '/var/lib/cloudy/efs/tls/server.key' },
      maxConnections: 120,
    });
  });

  it('refuses to run without an application role or its TLS files, or with the superuser as the app', () => {
    // Prepare
    const { DB_APP_USER: _user, ...withoutAppUser } = aws;
    // Act / Assess
    assert.throws(() => readSidecarConfig(withoutAppUser), /DB_APP_USER: required/);
    const { PG_SSL_KEY_FILE: _key, ...withoutKey } = aws;
    assert.throws(() => readSidecarConfig(withoutKey), /PG_SSL_KEY_FILE: required/);
    assert.throws(() => readSidecarConfig({ ...aws, DB_APP_USER: 'postgres' }), /must not be the superuser/);
    assert.throws(() => readSidecarConfig({ ...aws, DB_APP_USER: 'app"; drop' }), /DB_APP_USER/);
  });
});
