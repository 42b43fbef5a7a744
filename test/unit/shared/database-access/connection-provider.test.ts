import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  crossAccountSecretProvider,
  SecretAccessError,
} from '../../../../shared/database-access/connection-provider';

const ROLE_ARN = 'arn:aws:iam::222222222222:role/cloudy-dev-db-secret-reader';
const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:cloudy/dev/db-AbCdEf';

const stsMock = mockClient(STSClient);
const secretsMock = mockClient(SecretsManagerClient);
const assumedRole = {
  Credentials: {
    AccessKeyId: 'ASIAEXAMPLE',
    SecretAccessKey: 'assumed-secret-key',
    SessionToken: 'session-token',
    Expiration: new Date('2026-11-26T13:00:00Z'),
  },
  AssumedRoleUser: { AssumedRoleId: 'AROAEXAMPLE:cloudy-web', Arn: `${ROLE_ARN}/cloudy-web` },
};

function provider() {
  const regions: string[] = [];
  const accessKeys: string[] = [];
  const instance = crossAccountSecretProvider({
    sts: new STSClient({ region: 'eu-west-1' }),
    secretsManagerFor: (region, credentials) => {
      regions.push(region);
      accessKeys.push(credentials.accessKeyId);
      return new SecretsManagerClient({ region, credentials });
    },
    roleArn: ROLE_ARN,
    secretId: SECRET_ID,
    secretRegion: 'eu-west-1',
    defaultHost: '10.10.10.10',
  });
  return { instance, regions, accessKeys };
}

describe('crossAccountSecretProvider', () => {
  beforeEach(() => {
    stsMock.reset();
    secretsMock.reset();
  });

  it('assumes the role in the secrets account, then reads the secret with those credentials', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand).resolves(assumedRole);
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'app', password: 'pw', dbname: 'cloudy' }) });
    const { instance, regions, accessKeys } = provider();

    // Act
    const connection = await instance.get();

    // Assess
    assert.deepEqual(connection, {
      host: '10.10.10.10',
      port: 5432,
      user: 'app',
      password: 'pw',
      database: 'cloudy',
    });
    assert.equal(stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input.RoleArn, ROLE_ARN);
    assert.equal(secretsMock.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId, SECRET_ID);
    assert.deepEqual(regions, ['eu-west-1']);
    assert.deepEqual(accessKeys, ['ASIAEXAMPLE']);
  });

  it('reads the secret once and serves later connections from the cache', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand).resolves(assumedRole);
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"app","password":"pw"}' });
    const { instance } = provider();

    // Act
    await Promise.all([instance.get(), instance.get()]);
    await instance.get();

    // Assess
    assert.equal(stsMock.commandCalls(AssumeRoleCommand).length, 1);
    assert.equal(secretsMock.commandCalls(GetSecretValueCommand).length, 1);
    assert.equal(instance.isStale(), false);
  });

  it('re-reads a rotated secret after invalidate()', async () => {
    // Act
    stsMock.on(AssumeRoleCommand).resolves(assumedRole);
    secretsMock
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"username":"app","password":"old"}' })
      .resolves({ SecretString: '{"username":"app","password":"new"}' });
    const { instance } = provider();
    // Assess
    assert.equal((await instance.get()).password, 'old');

    instance.invalidate();

    assert.equal(instance.isStale(), true);
    assert.equal((await instance.get()).password, 'new');
    assert.equal(stsMock.commandCalls(AssumeRoleCommand).length, 2);
  });

  it('reports AccessDenied on AssumeRole as a named error with the cause, and retries on the next call', async () => {
    // Prepare
    const denied = Object.assign(new Error('not authorized to perform sts:AssumeRole'), {
      name: 'AccessDenied',
    });
    stsMock.on(AssumeRoleCommand).rejectsOnce(denied).resolves(assumedRole);
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"app","password":"pw"}' });
    const { instance } = provider();

    // Act / Assess
    await assert.rejects(
      instance.get(),
      (error: unknown) =>
        error instanceof SecretAccessError && error.message.includes(ROLE_ARN) && error.cause === denied,
    );
    assert.equal((await instance.get()).password, 'pw');
  });

  it('reports a missing secret or one without a string value', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand).resolves(assumedRole);
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(
        Object.assign(new Error('Secrets Manager can not find the secret'), {
          name: 'ResourceNotFoundException',
        }),
      )
      .resolves({ SecretBinary: new Uint8Array([1, 2]) });
    const { instance } = provider();

    // Act / Assess
    await assert.rejects(instance.get(), /cannot read secret/);
    await assert.rejects(instance.get(), /has no string value/);
  });
});
