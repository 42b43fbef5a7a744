import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestPostgres, type TestPostgres } from '../../support/local-postgres';

const run = promisify(execFile);
const sampleEvent = (name: string) => JSON.parse(readFileSync(`handlers/events/${name}.json`, 'utf8'));
const lambdaContext = {
  awsRequestId: 'test',
  functionName: 'cloudy-test-api',
  getRemainingTimeInMillis: () => 10_000,
};

interface AlbResult {
  statusCode: number;
  body: string;
  headers?: Record<string, string>;
}

describe('the api Lambda (the Express app through serverless-http, under /lambda)', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres();
  });
  after(async () => {
    await pg.destroy();
  });

  it('serves the sample ALB events: add a user, list users, check a prime', async () => {
    // Prepare
    process.env.DATABASE_URL = pg.url;
    const { handler } = await import('../../../handlers/api');

    // Act
    const added = (await handler(sampleEvent('api-post-user'), lambdaContext)) as AlbResult;
    const listed = (await handler(sampleEvent('api-get-users'), lambdaContext)) as AlbResult;
    const load = (await handler(sampleEvent('api-load'), lambdaContext)) as AlbResult;

    // Assess
    assert.equal(added.statusCode, 201);
    assert.deepEqual(JSON.parse(added.body), { message: 'user lambda-user added successfully' });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      (JSON.parse(listed.body) as { username: string }[]).map((u) => u.username),
      ['lambda-user'],
    );
    assert.equal(load.statusCode, 200);
    assert.equal(JSON.parse(load.body).isPrime, true);
  });

  it('links the next page under /lambda, where the function is reached', async () => {
    // Prepare
    const { handler } = await import('../../../handlers/api');
    const firstPage = { ...sampleEvent('api-get-users'), queryStringParameters: { limit: '1' } };

    // Act
    const page = (await handler(firstPage, lambdaContext)) as AlbResult;

    // Assess
    const [user] = JSON.parse(page.body) as { id: number }[];
    assert.equal(page.headers?.link, `</lambda/users?limit=1&after=${user?.id}>; rel="next"`);
  });

  it('runs through the real CLI: sls invoke local -f api --path <sample ALB event>', async () => {
    // Act
    const { stdout } = await run(
      'timeout',
      [
        '300',
        'npx',
        'sls',
        'invoke',
        'local',
        '-f',
        'api',
        '--stage',
        'clitest',
        '--path',
        'handlers/events/api-get-users.json',
        '--env',
        `DATABASE_URL=${pg.url}`,
        '--env',
        'LOG_LEVEL=silent',
      ],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    const result = JSON.parse(stdout.slice(stdout.indexOf('{'))) as AlbResult;
    // Assess
    assert.equal(result.statusCode, 200);
    assert.ok(Array.isArray(JSON.parse(result.body)));
  });
});
