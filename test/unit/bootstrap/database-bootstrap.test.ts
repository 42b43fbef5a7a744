import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { AppLogin } from '../../../handlers/bootstrap/app-role';
import {
  type AdministratorLogin,
  type AppRoleProperties,
  type BootstrapDependencies,
  handleBootstrapEvent,
} from '../../../handlers/bootstrap/bootstrap';
import { type CustomResourceEvent, type Outcome, respond } from '../../../handlers/bootstrap/custom-resource';
import { createLogger } from '../../../shared/logger';

const PROPERTIES = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:cloudy-dev-databaseBootstrap',
  WriterHost: 'cloudy-dev.cluster-c0ffee.eu-west-1.rds.amazonaws.com',
  Port: '5432',
  MasterSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!cluster-abc',
  SecretRoleArn: 'arn:aws:iam::222222222222:role/cloudy-dev-db-secret-reader',
  SecretId: 'cloudy/dev/database',
  SecretRegion: 'eu-west-1',
};
const event = (change: Partial<CustomResourceEvent> = {}): CustomResourceEvent => ({
  RequestType: 'Create',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.example/answer',
  StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/cloudy-dev/1',
  RequestId: 'request-1',
  LogicalResourceId: 'DatabaseAppRole',
  ResourceProperties: PROPERTIES,
  ...change,
});
const ADMINISTRATOR: AdministratorLogin = { username: 'cloudyadmin', password: 'admin-password-1' };
const APP: AppLogin = { user: 'cloudy', password: 'app-password-1', database: 'postgres' };

/** Dependencies that record what they were asked and answer as told. */
function recording(failure?: Error) {
  const ensured: [AppRoleProperties, AdministratorLogin, AppLogin][] = [];
  const answers: Outcome[] = [];
  const deps: BootstrapDependencies = {
    readAdministrator: async () => ADMINISTRATOR,
    readApp: async () => APP,
    ensure: async (...args) => {
      if (failure) throw failure;
      ensured.push(args);
    },
    respond: async (_event, outcome) => {
      answers.push(outcome);
    },
    logger: createLogger('bootstrap-test', 'silent'),
  };
  return { deps, ensured, answers };
}

describe('handleBootstrapEvent', () => {
  it('creates the app role on the writer with both logins, and answers SUCCESS with an id naming both', async () => {
    // Prepare
    const { deps, ensured, answers } = recording();
    // Act
    await handleBootstrapEvent(event(), deps);
    // Assess
    assert.equal(ensured.length, 1);
    assert.equal(ensured[0]?.[0].WriterHost, PROPERTIES.WriterHost);
    assert.equal(ensured[0]?.[0].Port, 5432);
    assert.deepEqual(ensured[0]?.slice(1), [ADMINISTRATOR, APP]);
    assert.deepEqual(answers, [{ status: 'SUCCESS', physicalResourceId: `${PROPERTIES.WriterHost}/cloudy` }]);
  });

  it('sets the password again on Update (a rotated secret), and leaves the role to the cluster on Delete', async () => {
    // Prepare
    const { deps, ensured, answers } = recording();
    const id = `${PROPERTIES.WriterHost}/cloudy`;
    // Act
    await handleBootstrapEvent(event({ RequestType: 'Update', PhysicalResourceId: id }), deps);
    await handleBootstrapEvent(event({ RequestType: 'Delete', PhysicalResourceId: id }), deps);
    // Assess
    assert.equal(ensured.length, 1, 'Delete changes nothing in the cluster');
    assert.deepEqual(answers, [
      { status: 'SUCCESS', physicalResourceId: id },
      { status: 'SUCCESS', physicalResourceId: id },
    ]);
  });

  it('answers FAILED, naming what failed and never a password, so that the stack does not wait for an answer', async () => {
    // Prepare
    const refused = new Error('password authentication failed for user "cloudyadmin"');
    const { deps, answers } = recording(new Error('cannot reach the writer', { cause: refused }));
    // Act
    await handleBootstrapEvent(event(), deps);
    // Assess
    assert.equal(answers[0]?.status, 'FAILED');
    const reason = answers[0]?.status === 'FAILED' ? answers[0].reason : '';
    assert.match(reason, /cannot reach the writer: Error: password authentication failed/);
    assert.ok(!reason.includes(ADMINISTRATOR.password) && !reason.includes(APP.password));
  });

  it('answers FAILED naming the properties the template did not give', async () => {
    // Prepare
    const { deps, ensured, answers } = recording();
    const { WriterHost: _host, ...incomplete } = PROPERTIES;
    // Act
    await handleBootstrapEvent(event({ ResourceProperties: { ...incomplete, Port: 'x' } }), deps);
    // Assess
    assert.equal(ensured.length, 0);
    assert.deepEqual(answers, [{ status: 'FAILED', reason: 'invalid properties: WriterHost, Port' }]);
  });
});

describe('respond', () => {
  /** A stand-in for the presigned S3 URL, on 127.0.0.1, answering `status`. */
  async function responseUrl(status: number) {
    const received: { method?: string; contentType?: string; body: string }[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({ method: request.method, contentType: request.headers['content-type'], body });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/answer?X-Amz-Signature=x`,
      received,
      close: () => server.close(),
    };
  }

  it('PUTs the answer CloudFormation expects, without a content type', async () => {
    // Prepare
    const target = await responseUrl(200);
    try {
      // Act
      await respond(event({ ResponseURL: target.url }), {
        status: 'SUCCESS',
        physicalResourceId: 'w/cloudy',
      });
      // Assess
      assert.equal(target.received.length, 1);
      assert.equal(target.received[0]?.method, 'PUT');
      assert.equal(target.received[0]?.contentType, '');
      assert.deepEqual(JSON.parse(target.received[0]?.body ?? ''), {
        Status: 'SUCCESS',
        PhysicalResourceId: 'w/cloudy',
        StackId: event().StackId,
        RequestId: 'request-1',
        LogicalResourceId: 'DatabaseAppRole',
      });
    } finally {
      target.close();
    }
  });

  it('keeps the resource id CloudFormation knows when it fails, and throws when the URL refuses the answer', async () => {
    // Prepare
    const target = await responseUrl(403);
    try {
      // Act / Assess
      await assert.rejects(
        respond(event({ ResponseURL: target.url, PhysicalResourceId: 'w/cloudy' }), {
          status: 'FAILED',
          reason: 'no writer',
        }),
        /answered 403/,
      );
      assert.deepEqual(JSON.parse(target.received[0]?.body ?? '').PhysicalResourceId, 'w/cloudy');
      assert.equal(JSON.parse(target.received[0]?.body ?? '').Reason, 'no writer');
    } finally {
      target.close();
    }
  });
});
