import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConnectionProvider } from '../../../shared/database-access/connection-provider';
import { postJson, startWebHarness, type WebHarness } from '../../support/web-harness';

async function statusWithin(url: string, wanted: number, attempts = 60): Promise<number> {
  let status = 0;
  for (let i = 0; i < attempts && status !== wanted; i += 1) {
    status = (await fetch(url)).status;
    if (status !== wanted) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return status;
}

describe('the database going away and coming back', () => {
  let h: WebHarness;
  before(async () => {
    h = await startWebHarness();
    await postJson(`${h.baseUrl}/users`, { username: 'durable', email: 'durable@example.com' });
  });
  after(async () => {
    await h.close();
  });

  it('answers 503 with Retry-After while PostgreSQL is down, keeps /health up, and recovers without a restart', async () => {
    // Prepare: warm the pool so that it holds connections that the restart will break.
    assert.equal((await fetch(`${h.baseUrl}/users`)).status, 200);

    // Act: the server goes away under the running app.
    await h.pg.stop();
    const down = await fetch(`${h.baseUrl}/users`);
    const downBody = await down.text();
    const health = await fetch(`${h.baseUrl}/health`);
    const ready = await fetch(`${h.baseUrl}/ready`);

    // Assess
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '2');
    assert.deepEqual(JSON.parse(downBody), { error: 'database unavailable, try again shortly' });
    assert.equal(health.status, 200);
    assert.equal(ready.status, 503);

    // Act: it comes back (as after a failover, on the same address).
    await h.pg.start();

    // Assess: the app serves again on its own, with the data intact.
    assert.equal(await statusWithin(`${h.baseUrl}/users`, 200), 200);
    const users = (await (await fetch(`${h.baseUrl}/users`)).json()) as { username: string }[];
    assert.ok(users.some((u) => u.username === 'durable'));
    assert.equal((await fetch(`${h.baseUrl}/ready`)).status, 200);
  });
});

describe('pooled connections killed under the app', () => {
  let h: WebHarness;
  before(async () => {
    h = await startWebHarness();
  });
  after(async () => {
    await h.close();
  });

  it('are evicted from the pool: at most the requests that held them fail, with 503, then all is well', async () => {
    // Prepare: fill the pool with live connections.
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${h.baseUrl}/users`)));

    // Act: terminate every backend of the app, as a database restart or a failover does.
    await h.web.db.raw(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'cloudy-web' and pid <> pg_backend_pid()",
    );
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${h.baseUrl}/users`).then((r) => r.status)),
    );

    // Assess
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      String(statuses),
    );
    assert.equal(await statusWithin(`${h.baseUrl}/users`, 200, 20), 200);
    const settled = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${h.baseUrl}/users`).then((r) => r.status)),
    );
    assert.deepEqual(new Set(settled), new Set([200]));
  });
});

describe('a rotated database secret', () => {
  let h: WebHarness;
  let reads = 0;
  before(async () => {
    h = await startWebHarness({
      // The first read returns credentials that the server rejects (the secret was rotated since).
      provider: (pg): ConnectionProvider => {
        let stale = true;
        return {
          get: async () => {
            reads += 1;
            stale = false;
            return {
              connectionString: reads === 1 ? pg.url.replace(':postgres@', ':rotated-away@') : pg.url,
            };
          },
          invalidate: () => {
            stale = true;
          },
          isStale: () => stale,
        };
      },
    });
  });
  after(async () => {
    await h.close();
  });

  it('is re-read after the server rejects the old password, without a restart', async () => {
    // Act
    const first = await fetch(`${h.baseUrl}/users`);
    // Assess
    assert.equal(first.status, 503);
    assert.doesNotMatch(await first.text(), /password|authentication/i);

    assert.equal(await statusWithin(`${h.baseUrl}/users`, 200), 200);
    assert.equal(reads, 2);
  });
});
