import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { readWebConfig } from '../../../web/config';
import { providersFromConfig } from '../../../web/db/provider-from-config';

const stsMock = mockClient(STSClient);
const secretsMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);
const CA = '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n';
const SECRET_SETTINGS = {
  DB_SECRET_ROLE_ARN: 'arn:aws:iam::222222222222:role/cloudy-dev-db-secret-reader',
  DB_SECRET_ID: 'cloudy/dev/database',
  DB_SECRET_REGION: 'eu-west-1',
  DB_CA_PARAMETER: '/cloudy/dev/database-ca-certificate',
};
// databaseEngine aurora: the CA comes from a PEM file (the RDS bundle in the AMI), not from SSM.
const caFolder = mkdtempSync(join(tmpdir(), 'cloudy-ca-'));
const BUNDLE = `${CA}${CA.replace('MIIB', 'MIIC')}`;
const bundleFile = join(caFolder, 'global-bundle.pem');
writeFileSync(bundleFile, BUNDLE);
const AURORA_SETTINGS = { ...SECRET_SETTINGS, DB_CA_PARAMETER: '', DB_CA_FILE: bundleFile };
after(() => rmSync(caFolder, { recursive: true, force: true }));

describe('providersFromConfig', () => {
  beforeEach(() => {
    stsMock.reset();
    secretsMock.reset();
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: CA } });
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLE',
        SecretAccessKey: 'assumed-secret-key',
        SessionToken: 'token',
        Expiration: new Date('2026-12-02T15:00:00Z'),
      },
    });
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"cloudy","password":"pw"}' });
  });

  it('aurora: the writer and reader endpoints with the one secret, read once, verified against the CA file', async () => {
    // Prepare
    const { writer, reader } = providersFromConfig(
      readWebConfig({
        ...AURORA_SETTINGS,
        DB_WRITER_HOST: 'cloudy-dev.cluster-c0ffee.eu-west-1.rds.amazonaws.com',
        DB_READER_HOST: 'cloudy-dev.cluster-ro-c0ffee.eu-west-1.rds.amazonaws.com',
      }),
    );

    // Act
    const [onWriter, onReader] = await Promise.all([writer.get(), reader?.get()]);

    // Assess
    assert.deepEqual(onWriter, {
      host: 'cloudy-dev.cluster-c0ffee.eu-west-1.rds.amazonaws.com',
      port: 5432,
      user: 'cloudy',
      password: 'pw',
      database: 'postgres',
      ssl: { ca: BUNDLE, rejectUnauthorized: true },
    });
    assert.deepEqual(onReader, {
      ...onWriter,
      host: 'cloudy-dev.cluster-ro-c0ffee.eu-west-1.rds.amazonaws.com',
    });
    assert.equal(stsMock.commandCalls(AssumeRoleCommand).length, 1);
    assert.equal(secretsMock.commandCalls(GetSecretValueCommand).length, 1);
    assert.equal(ssmMock.commandCalls(GetParameterCommand).length, 0, 'no SSM parameter with Aurora');
  });

  it('aurora: a reader rejecting the password makes both re-read the secret (rotation)', async () => {
    // Act
    const { writer, reader } = providersFromConfig(
      readWebConfig({ ...AURORA_SETTINGS, DB_WRITER_HOST: 'w.example', DB_READER_HOST: 'r.example' }),
    );
    await writer.get();

    // Assess
    reader?.invalidate();

    assert.equal(writer.isStale(), true);
    assert.equal(reader?.isStale(), true);
  });

  it('instances: the virtual IP and no reader (the stack exports an empty DB_READER_HOST)', async () => {
    // Act
    const { writer, reader } = providersFromConfig(
      readWebConfig({
        ...SECRET_SETTINGS,
        VIRTUAL_IP: '10.10.10.10',
        DB_WRITER_HOST: '',
        DB_READER_HOST: '',
      }),
    );

    // Assess
    assert.equal(((await writer.get()) as { host?: string }).host, '10.10.10.10');
    assert.equal(reader, undefined);
  });

  it('locally: DATABASE_READER_URL beside DATABASE_URL', async () => {
    // Act
    const { writer, reader } = providersFromConfig(
      readWebConfig({
        DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/postgres',
        DATABASE_READER_URL: 'postgres://u:p@127.0.0.1:5433/postgres',
      }),
    );

    // Assess
    assert.deepEqual(await writer.get(), { connectionString: 'postgres://u:p@127.0.0.1:5432/postgres' });
    assert.deepEqual(await reader?.get(), { connectionString: 'postgres://u:p@127.0.0.1:5433/postgres' });
  });
});
