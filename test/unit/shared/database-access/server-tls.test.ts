import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type ConnectionProvider,
  withVerifiedTls,
} from '../../../../shared/database-access/connection-provider';
import type { DatabaseConnection } from '../../../../shared/database-access/secret-to-connection';
import {
  fileServerCa,
  ServerCaError,
  ssmServerCa,
  tlsVerificationFailure,
} from '../../../../shared/database-access/server-tls';

const PARAMETER = '/cloudy/dev/database-ca-certificate';
const CA = '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n';
const ssmMock = mockClient(SSMClient);
const parameter = (value: string) => ({
  Parameter: { Name: PARAMETER, Type: 'String' as const, Value: value },
});

describe('ssmServerCa', () => {
  beforeEach(() => ssmMock.reset());

  it('reads the CA once, and again only after invalidate()', async () => {
    // Prepare
    ssmMock.on(GetParameterCommand).resolves(parameter(CA));
    const ca = ssmServerCa({ ssm: new SSMClient({ region: 'eu-west-1' }), parameterName: PARAMETER });
    // Act
    await ca.get();
    await ca.get();
    ca.invalidate();
    const value = await ca.get();
    // Assess
    assert.equal(value, CA);
    assert.equal(ssmMock.commandCalls(GetParameterCommand, { Name: PARAMETER }).length, 2);
  });

  it('names the parameter when it cannot be read or holds no certificate, and retries next time', async () => {
    // Prepare
    ssmMock
      .on(GetParameterCommand)
      .rejectsOnce(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }))
      .resolvesOnce(parameter('placeholder'))
      .resolves(parameter(CA));
    const ca = ssmServerCa({ ssm: new SSMClient({ region: 'eu-west-1' }), parameterName: PARAMETER });
    // Act / Assess
    await assert.rejects(
      ca.get(),
      (error: Error) => error instanceof ServerCaError && error.message.includes(PARAMETER),
    );
    await assert.rejects(ca.get(), /holds no PEM certificate/);
    assert.equal(await ca.get(), CA);
  });
});

describe('fileServerCa', () => {
  it('reads every certificate of the file once, again after invalidate(), and names a file it cannot use', async () => {
    // Prepare
    const folder = mkdtempSync(join(tmpdir(), 'cloudy-ca-file-'));
    const bundle = join(folder, 'global-bundle.pem');
    const other = CA.replace('MIIB', 'MIIC');
    writeFileSync(bundle, `${CA}${other}`);
    const ca = fileServerCa(bundle);
    const missing = fileServerCa(join(folder, 'absent.pem'));
    const empty = join(folder, 'empty.pem');
    writeFileSync(empty, '');
    try {
      // Act
      const first = await ca.get();
      writeFileSync(bundle, other);
      const cached = await ca.get();
      ca.invalidate();
      const reread = await ca.get();
      // Assess
      assert.equal(first, `${CA}${other}`);
      assert.equal(cached, first);
      assert.equal(reread, other);
      await assert.rejects(
        missing.get(),
        (error: Error) => error instanceof ServerCaError && error.message.includes('absent.pem'),
      );
      await assert.rejects(fileServerCa(empty).get(), /empty\.pem holds no PEM certificate/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('withVerifiedTls', () => {
  it('adds verify-full TLS with the CA to the connection, and re-reads both after invalidate()', async () => {
    // Prepare
    const connection: DatabaseConnection = {
      host: '10.10.10.10',
      port: 5432,
      user: 'cloudy',
      password: 'pw',
      database: 'postgres',
    };
    let secretInvalidated = 0;
    const secret: ConnectionProvider<DatabaseConnection> = {
      get: async () => connection,
      invalidate: () => {
        secretInvalidated += 1;
      },
      isStale: () => false,
    };
    let caInvalidated = 0;
    const provider = withVerifiedTls(secret, {
      get: async () => CA,
      invalidate: () => {
        caInvalidated += 1;
      },
    });
    // Act
    const settings = await provider.get();
    provider.invalidate();
    const staleAfterInvalidate = provider.isStale();
    await provider.get();
    // Assess
    assert.deepEqual(settings, { ...connection, ssl: { ca: CA, rejectUnauthorized: true } });
    assert.deepEqual(
      [secretInvalidated, caInvalidated, staleAfterInvalidate, provider.isStale()],
      [1, 1, true, false],
    );
  });
});

describe('tlsVerificationFailure', () => {
  it('explains an untrusted chain, a wrong name and an expired certificate, and nothing else', () => {
    assert.match(
      tlsVerificationFailure({ code: 'SELF_SIGNED_CERT_IN_CHAIN' }) ?? '',
      /not signed by the configured CA/,
    );
    assert.match(tlsVerificationFailure({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) ?? '', /does not name/);
    assert.match(tlsVerificationFailure({ code: 'CERT_HAS_EXPIRED' }) ?? '', /validity period/);
    assert.equal(tlsVerificationFailure({ code: 'ECONNREFUSED' }), undefined);
    assert.equal(tlsVerificationFailure(new Error('plain')), undefined);
  });
});
