// Reads that tolerate replica lag (GET /users) go to a reader, everything else to the writer: tested with two
// real PostgreSQL servers, a primary and a streaming replica of it, as Aurora's writer and reader endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { urlConnectionProvider } from '../../../shared/database-access/connection-provider';
import { createLogger } from '../../../shared/logger';
import { createDatabase } from '../../../web/db/database';
import { migrateToLatest } from '../../../web/db/migrate';
import { type RunningWebServer, startWebServer } from '../../../web/server';
import { startTestPostgres, type TestPostgres } from '../../support/local-postgres';
import { type StreamingReplica, startStreamingReplica } from '../../support/streaming-replica';
import { postJson } from '../../support/web-harness';

async function usernames(baseUrl: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/users?limit=1000`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { username: string }[]).map((user) => user.username);
}

async function addUser(baseUrl: string, username: string): Promise<void> {
  const res = await postJson(`${baseUrl}/users`, { username, email: `${username}@example.com` });
  assert.equal(res.status, 201, await res.text());
}

async function writerHas(primary: TestPostgres, username: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: primary.url });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from users where username = $1', [username]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('a web server with a writer and a reader', () => {
  let primary: TestPostgres;
  let replica: StreamingReplica;
  let web: RunningWebServer;
  let baseUrl: string;

  before(async () => {
    primary = await startTestPostgres();
    const migrator = createDatabase({ provider: urlConnectionProvider(primary.url), poolMax: 1 });
    await migrateToLatest(migrator);
    await migrator.destroy();
    replica = await startStreamingReplica(primary);
    web = await startWebServer({
      dbPoolMax: 10,
      provider: urlConnectionProvider(primary.url),
      readerProvider: urlConnectionProvider(replica.url),
      logger: createLogger('web-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
      port: 0,
      host: '127.0.0.1',
      loadThreads: 1,
      loadQueueLimit: 4,
      shutdownGraceMs: 2_000,
    });
    baseUrl = `http://127.0.0.1:${web.port}`;
  });
  after(async () => {
    await web?.stop();
    await replica?.destroy();
    await primary?.destroy();
  });

  it('reports both on GET /ready', async () => {
    // Act
    const res = await fetch(`${baseUrl}/ready`);

    // Assess
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', writer: 'ready', reader: 'ready' });
  });

  it('writes on the writer and lists from the reader, which may lag behind it', async () => {
    // Prepare: one user, replicated.
    await addUser(baseUrl, 'ann');
    await replica.caughtUp();
    assert.deepEqual(await usernames(baseUrl), ['ann']);

    // Act: the replica stops replaying (lag), and a user is added meanwhile.
    await replica.pauseReplay();
    await addUser(baseUrl, 'bob');
    const whileLagging = await usernames(baseUrl);
    await replica.resumeReplay();
    await replica.caughtUp();
    const caughtUp = await usernames(baseUrl);

    // Assess: the write went to the writer (a replica refuses writes), the list came from the lagging reader.
    assert.equal(await writerHas(primary, 'bob'), true);
    assert.deepEqual(whileLagging, ['ann']);
    assert.deepEqual(caughtUp, ['ann', 'bob']);
  });

  it('reads from the writer when the reader goes away, and GET /ready says so', async () => {
    // Prepare: the pool holds reader connections that the shutdown will break.
    assert.deepEqual(await usernames(baseUrl), ['ann', 'bob']);

    // Act
    await replica.stop();
    await addUser(baseUrl, 'carol');
    const listed = await usernames(baseUrl);
    const ready = await fetch(`${baseUrl}/ready`);

    // Assess: carol, who exists only on the writer now, is listed; the app is still ready.
    assert.deepEqual(listed, ['ann', 'bob', 'carol']);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', writer: 'ready', reader: 'unavailable' });
  });

  it('answers 503 on GET /ready when the writer is away, naming which one is', async () => {
    // Act: the reader comes back, the writer goes away.
    await replica.start();
    await primary.stop();
    const ready = await fetch(`${baseUrl}/ready`);
    const body = await ready.json();
    await primary.start();

    // Assess
    assert.equal(ready.status, 503);
    assert.equal(ready.headers.get('retry-after'), '2');
    assert.deepEqual(body, { status: 'unavailable', writer: 'unavailable', reader: 'ready' });
  });
});
