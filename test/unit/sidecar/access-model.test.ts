import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AccessModel,
  applicationBootstrap,
  hbaConf,
  serverConf,
} from '../../../ec2/sidecar/postgres/access-model';

const onAws: AccessModel = {
  superuser: 'postgres',
  application: { user: 'cloudy', database: 'cloudy', passwordFile: '/etc/cloudy/db-password' },
  tls: { certFile: '/var/lib/cloudy/efs/tls/server.crt', keyFile: '/var/lib/cloudy/efs/tls/server.key' },
  maxConnections: 120,
};

describe('access model', () => {
  it('admits only the superuser by peer locally and the application role over TLS with SCRAM', () => {
    // Act
    const rules = hbaConf(onAws)
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    // Assess
    assert.deepEqual(rules, [
      'local all postgres peer',
      'hostssl cloudy cloudy 0.0.0.0/0 scram-sha-256',
      'hostssl cloudy cloudy ::/0 scram-sha-256',
    ]);
  });

  it('sets the connection limit and TLS explicitly', () => {
    // Act
    const settings = serverConf(onAws);
    // Assess
    for (const line of [
      'max_connections = 120',
      'ssl = on',
      "ssl_cert_file = '/var/lib/cloudy/efs/tls/server.crt'",
      "ssl_key_file = '/var/lib/cloudy/efs/tls/server.key'",
    ]) {
      assert.ok(settings.split('\n').includes(line), line);
    }
  });

  it('creates a role with no privilege beyond login, its database and its own schema, never the password itself', () => {
    // Act
    const scripts = applicationBootstrap({ user: 'cloudy', database: 'cloudy' }, 'Xk3v9Qm2Lp7Rt5Wz');
    const sql = scripts.flatMap((script) => script.statements).join('\n');
    // Assess
    assert.deepEqual(
      scripts.map((script) => script.database),
      ['postgres', 'cloudy'],
    );
    assert.match(
      sql,
      /CREATE ROLE "cloudy" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS/,
    );
    assert.match(sql, /PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(sql, /Xk3v9Qm2Lp7Rt5Wz/);
    assert.match(sql, /CREATE SCHEMA "cloudy" AUTHORIZATION "cloudy"/);
    // The database belongs to whoever bootstraps it (DB_SUPERUSER), not to a role that may not exist.
    assert.match(sql, /CREATE DATABASE "cloudy";/);
  });

  it('refuses names that are not plain identifiers and passwords SCRAM would normalise', () => {
    assert.throws(
      () => applicationBootstrap({ user: 'Cloudy"; --', database: 'cloudy' }, 'pw'),
      /identifier/,
    );
    assert.throws(
      () => applicationBootstrap({ user: 'cloudy', database: 'cloudy' }, 'pässword'),
      /printable ASCII/,
    );
  });
});
