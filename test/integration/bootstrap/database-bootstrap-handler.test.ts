// The databaseBootstrap function as deployed (handlers/database-bootstrap.ts), end to end on this machine: the
// real handler with its real AWS clients (answered by aws-sdk-client-mock), against a real PostgreSQL serving TLS
// with a test CA's certificate (Aurora's are the RDS CAs'), and answering CloudFormation on a response URL on
// 127.0.0.1. The administrator is not a superuser, as on Aurora. Traffic goes to 127.0.0.1 only.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { runAsPostgresUser } from '../../../ec2/sidecar/postgres/run-as';
import type { CustomResourceEvent } from '../../../handlers/bootstrap/custom-resource';
import { verifyFullTls } from '../../../shared/database-access/server-tls';
import { createLocalPostgres, type LocalPostgres } from '../../../shared/embedded-postgres';
import { freePort } from '../../support/local-postgres';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates';

const ADMIN = { username: 'cloudyadmin', password: 'Adm1nFromRdsSecret' };
const APP = { username: 'cloudy', password: 'App1FromSecretsAccount' };
const MASTER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!cluster-abc';
const APP_SECRET_ID = 'cloudy/dev/database';

const sts = mockClient(STSClient);
const secrets = mockClient(SecretsManagerClient);

let folder: string;
let certificates: TestCertificates;
let caFile: string;
let wrongCaFile: string;
let server: LocalPostgres;
let answers: Record<string, unknown>[];
let responses: Server;
let responseUrl: string;

const event = (): CustomResourceEvent => ({
  RequestType: 'Create',
  ResponseURL: responseUrl,
  StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/cloudy-dev/1',
  RequestId: 'request-1',
  LogicalResourceId: 'DatabaseAppRole',
  ResourceProperties: {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:cloudy-dev-databaseBootstrap',
    // The address the server's test certificate names, as the cluster endpoint is named in Aurora's.
    WriterHost: '127.0.0.1',
    Port: String(server.port),
    MasterSecretArn: MASTER_SECRET_ARN,
    SecretRoleArn: 'arn:aws:iam::222222222222:role/cloudy-dev-db-secret-reader',
    SecretId: APP_SECRET_ID,
    SecretRegion: 'eu-west-1',
  },
});

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'cloudy-bootstrap-'));
  chmodSync(folder, 0o755);
  certificates = makeTestCertificates(join(folder, 'tls'), '127.0.0.1');
  const { uid, gid } = runAsPostgresUser().spawnOptions;
  if (uid !== undefined && gid !== undefined) chownSync(certificates.keyFile, uid, gid);
  chmodSync(certificates.keyFile, 0o600);
  caFile = join(folder, 'ca-cert.pem');
  writeFileSync(caFile, certificates.caPem);
  wrongCaFile = join(folder, 'other-ca.pem');
  writeFileSync(wrongCaFile, makeTestCertificates(join(folder, 'other'), '127.0.0.1').caPem);
  server = await createLocalPostgres({
    dataDir: join(folder, 'data'),
    port: await freePort(),
    postgresFlags: [
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${certificates.certFile}`,
      '-c',
      `ssl_key_file=${certificates.keyFile}`,
    ],
  });
  await server.start();
  const superuser = new pg.Client({ connectionString: server.url });
  await superuser.connect();
  await superuser.query(
    `CREATE ROLE ${ADMIN.username} LOGIN CREATEROLE CREATEDB NOSUPERUSER PASSWORD '${ADMIN.password}'`,
  );
  await superuser.query(`GRANT CREATE ON DATABASE postgres TO ${ADMIN.username}`);
  await superuser.end();
  responses = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      answers.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => responses.listen(0, '127.0.0.1', resolve));
  responseUrl = `http://127.0.0.1:${(responses.address() as AddressInfo).port}/answer?X-Amz-Signature=x`;
  process.env.AWS_REGION = 'eu-west-1';
  process.env.LOG_LEVEL = 'silent';
});

after(async () => {
  responses?.close();
  await server?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

beforeEach(() => {
  answers = [];
  sts.reset();
  secrets.reset();
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLE',
      SecretAccessKey: 'assumed-secret-key',
      SessionToken: 'token',
      Expiration: new Date('2026-12-02T15:00:00Z'),
    },
  });
  secrets
    .on(GetSecretValueCommand, { SecretId: MASTER_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify(ADMIN) })
    .on(GetSecretValueCommand, { SecretId: APP_SECRET_ID })
    .resolves({ SecretString: JSON.stringify(APP) });
});

/** Logs in as the app, verifying the server against the test CA, and returns its schema. */
async function appSchema(): Promise<unknown> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: server.port,
    user: APP.username,
    password: APP.password,
    database: 'postgres',
    ssl: verifyFullTls(certificates.caPem),
  });
  await client.connect();
  try {
    return (await client.query('SELECT current_schema() AS schema')).rows[0]?.schema;
  } finally {
    await client.end();
  }
}

describe('the databaseBootstrap function', () => {
  it('refuses a writer whose certificate is not signed by the CA file, and answers FAILED', async () => {
    // Prepare
    process.env.DB_CA_FILE = wrongCaFile;
    const { handler } = await import('../../../handlers/database-bootstrap');
    // Act
    await handler(event());
    // Assess: nothing was sent to that server, not even the administrator's password
    assert.equal(answers.length, 1);
    assert.equal(answers[0]?.Status, 'FAILED');
    assert.match(String(answers[0]?.Reason), /certificate/);
    assert.ok(!String(answers[0]?.Reason).includes(ADMIN.password));
    await assert.rejects(appSchema(), /password authentication failed|role "cloudy" does not exist/);
  });

  it('creates the app role over verified TLS with the two secrets, and answers SUCCESS', async () => {
    // Prepare
    process.env.DB_CA_FILE = caFile;
    const { handler } = await import('../../../handlers/database-bootstrap');
    // Act
    await handler(event());
    // Assess
    assert.deepEqual(
      answers.map((answer) => [answer.Status, answer.PhysicalResourceId]),
      [['SUCCESS', '127.0.0.1/cloudy']],
    );
    assert.equal(await appSchema(), 'cloudy');
    assert.deepEqual(
      secrets
        .commandCalls(GetSecretValueCommand)
        .map((call) => call.args[0].input.SecretId)
        .sort(),
      [MASTER_SECRET_ARN, APP_SECRET_ID],
    );
    assert.equal(
      sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input.RoleArn,
      event().ResourceProperties.SecretRoleArn,
    );
  });
});
