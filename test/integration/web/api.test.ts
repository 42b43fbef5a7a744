import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { postJson, startWebHarness, type WebHarness } from '../../support/web-harness';

/** No response body may leak internals: stack frames, SQL, driver messages. */
function assertNoInternals(text: string) {
  assert.doesNotMatch(text, /\n\s+at |insert into|select |duplicate key|constraint|ECONN|knex|pg_/i);
}

describe('web API on a real PostgreSQL', () => {
  let h: WebHarness;
  before(async () => {
    h = await startWebHarness();
  });
  after(async () => {
    await h.close();
  });

  describe('GET /', () => {
    it('says which host answered', async () => {
      // Act
      const res = await fetch(`${h.baseUrl}/`);
      // Assess
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { hostname: hostname() });
    });
  });

  describe('request ids', () => {
    it('echoes a sane X-Request-Id and makes one up otherwise, on every route', async () => {
      for (const path of ['/', '/health', '/users', '/nope']) {
        const given = await fetch(`${h.baseUrl}${path}`, { headers: { 'x-request-id': 'abc-123' } });
        const made = await fetch(`${h.baseUrl}${path}`, {
          headers: { 'x-request-id': 'bad id\twith spaces' },
        });
        assert.equal(given.headers.get('x-request-id'), 'abc-123', path);
        assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, path);
      }
    });
  });

  describe('HEAD', () => {
    it('answers the static routes with headers only', async () => {
      // Act
      const res = await fetch(`${h.baseUrl}/health`, { method: 'HEAD' });
      // Assess
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(await res.text(), '');
    });
  });

  describe('health', () => {
    it('/health answers without the database, /ready checks it', async () => {
      assert.deepEqual(await (await fetch(`${h.baseUrl}/health`)).json(), { status: 'ok' });
      const ready = await fetch(`${h.baseUrl}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready', writer: 'ready', reader: 'not configured' });
    });
  });

  describe('users', () => {
    it('adds a user with the original message and lists it', async () => {
      // Act
      const res = await postJson(`${h.baseUrl}/users`, { username: 'ann', email: 'ann@example.com' });
      // Assess
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { message: 'user ann added successfully' });

      const list = (await (await fetch(`${h.baseUrl}/users`)).json()) as { id: unknown; username: string }[];
      assert.ok(Array.isArray(list));
      // Whatever other tests added: ann is listed once, with an id the database gave her.
      const ann = list.filter((u) => u.username === 'ann');
      assert.equal(ann.length, 1);
      assert.ok(Number.isSafeInteger(ann[0]?.id) && Number(ann[0]?.id) > 0, `id ${ann[0]?.id}`);
      assert.deepEqual(ann[0], { id: ann[0]?.id, username: 'ann', email: 'ann@example.com' });
    });

    it('answers 409 naming the field for a duplicate username or email, and stores nothing', async () => {
      // Prepare
      await postJson(`${h.baseUrl}/users`, { username: 'bob', email: 'bob@example.com' });

      // Act
      const sameName = await postJson(`${h.baseUrl}/users`, { username: 'bob', email: 'other@example.com' });
      const sameEmail = await postJson(`${h.baseUrl}/users`, { username: 'bobby', email: 'bob@example.com' });

      // Assess
      assert.equal(sameName.status, 409);
      assert.deepEqual(await sameName.json(), { error: 'username already exists', field: 'username' });
      assert.equal(sameEmail.status, 409);
      assert.deepEqual(await sameEmail.json(), { error: 'email already exists', field: 'email' });
      const all = (await (await fetch(`${h.baseUrl}/users?limit=1000`)).json()) as { username: string }[];
      assert.equal(all.filter((u) => u.username.startsWith('bob')).length, 1);
    });

    it('lets exactly one of many identical concurrent POSTs win; the rest get 409', async () => {
      // Prepare
      const user = { username: 'racer', email: 'racer@example.com' };
      // Act
      const statuses = await Promise.all(
        Array.from({ length: 12 }, () => postJson(`${h.baseUrl}/users`, user).then((r) => r.status)),
      );
      // Assess
      assert.equal(statuses.filter((s) => s === 201).length, 1, String(statuses));
      assert.equal(statuses.filter((s) => s === 409).length, 11, String(statuses));
    });

    it('answers 400 naming the field for every kind of bad input, never 500', async () => {
      // Prepare
      const cases: [unknown, string][] = [
        [{ username: '', email: 'a@example.com' }, 'username'],
        [{ username: 'x'.repeat(81), email: 'a@example.com' }, 'username'],
        [{ username: 7, email: 'a@example.com' }, 'username'],
        [{ username: 'carl', email: 'nope' }, 'email'],
        [{ username: 'carl' }, 'email'],
        ['{"username": "carl", "email": ', 'body'],
        ['[1,2,3]', 'body'],
        ['"just a string"', 'body'],
        ['null', 'body'],
      ];
      // Act / Assess
      for (const [body, field] of cases) {
        const res = await postJson(`${h.baseUrl}/users`, body);
        const text = await res.text();
        assert.equal(res.status, 400, `${JSON.stringify(body)} → ${text}`);
        assert.equal(JSON.parse(text).field, field, text);
        assertNoInternals(text);
      }
    });

    it('answers 400 when the body is not JSON at all', async () => {
      // Act
      const res = await fetch(`${h.baseUrl}/users`, { method: 'POST', body: 'username=carl' });
      // Assess
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { field: string }).field, 'body');
    });

    it('refuses bodies over the size limit with 413', async () => {
      // Act
      const res = await postJson(`${h.baseUrl}/users`, {
        username: 'big',
        email: 'big@example.com',
        pad: 'x'.repeat(8000),
      });
      // Assess
      assert.equal(res.status, 413);
      assert.match(((await res.json()) as { error: string }).error, /larger than/);
    });

    it('pages through users with limit and after, advertising the next page', async () => {
      // Prepare
      for (let i = 0; i < 5; i += 1)
        await postJson(`${h.baseUrl}/users`, { username: `page${i}`, email: `page${i}@example.com` });
      const everyone = (await (await fetch(`${h.baseUrl}/users?limit=1000`)).json()) as { id: number }[];

      // Act
      const first = await fetch(`${h.baseUrl}/users?limit=2`);
      const firstRows = (await first.json()) as { id: number }[];
      const next = first.headers.get('link');
      // Assess
      assert.deepEqual(
        firstRows.map((u) => u.id),
        everyone.slice(0, 2).map((u) => u.id),
      );
      assert.equal(next, `</users?limit=2&after=${everyone[1]?.id}>; rel="next"`);

      const second = (await (await fetch(`${h.baseUrl}/users?limit=2&after=${everyone[1]?.id}`)).json()) as {
        id: number;
      }[];
      assert.deepEqual(
        second.map((u) => u.id),
        everyone.slice(2, 4).map((u) => u.id),
      );
    });

    it('rejects a page size above the maximum', async () => {
      // Act
      const res = await fetch(`${h.baseUrl}/users?limit=100000`);
      // Assess
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { field: string }).field, 'limit');
    });
  });

  describe('GET /load', () => {
    it('checks primality by trial division and reports the time taken', async () => {
      // Act
      const res = await fetch(`${h.baseUrl}/load?number=112272535095293`);
      // Assess
      assert.equal(res.status, 200);
      const body = (await res.json()) as { isPrime: boolean; number: number; processingTime: number };
      assert.equal(body.isPrime, true);
      assert.equal(body.number, 112272535095293);
      assert.ok(body.processingTime > 0);

      const composite = (await (await fetch(`${h.baseUrl}/load?number=${1_000_003 * 1_000_033}`)).json()) as {
        isPrime: boolean;
      };
      assert.equal(composite.isPrime, false);
    });

    it('answers 400 for numbers outside 1..2^53-1 or not integers', async () => {
      for (const raw of ['0', '-3', '2.5', 'abc', '9007199254740992', '']) {
        const res = await fetch(`${h.baseUrl}/load?number=${raw}`);
        assert.equal(res.status, 400, raw);
        assert.equal(((await res.json()) as { field: string }).field, 'number');
      }
      assert.equal((await fetch(`${h.baseUrl}/load`)).status, 400);
    });
  });

  describe('unknown routes', () => {
    it('answer 404 with a JSON error', async () => {
      // Act
      const res = await fetch(`${h.baseUrl}/nope`);
      // Assess
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await res.json(), { error: 'no route for GET /nope' });
      assert.equal((await fetch(`${h.baseUrl}/users`, { method: 'DELETE' })).status, 404);
    });
  });

  describe('POST body reading', () => {
    it('answers a POST alike whether the node:http path or Express reads the body', async () => {
      // Prepare: a quoted charset is valid JSON for Express but not the plain form the node:http path takes.
      const bodies = [
        '{"username":"same1","email":"same1@example.com"}',
        '{"username":"same1","email":"same1@example.com"}',
        '',
        '"just a string"',
        'null',
        '[1]',
        '{"username": "x", ',
        '{"username":"u","email":"u@example.com","extra":1}',
        `{"pad":"${'x'.repeat(5000)}"}`,
      ];
      const answer = async (contentType: string, body: string) => {
        const res = await fetch(`${h.baseUrl}/users`, {
          method: 'POST',
          headers: { 'content-type': contentType },
          body,
        });
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      };

      // Act: each body once per path; the first pair creates the user, so the second pair conflicts.
      for (const body of bodies) {
        const fast = await answer('application/json', body);
        const viaExpress = await answer(
          'application/json; charset="utf-8"',
          body.replaceAll('same1', 'same2'),
        );

        // Assess
        assert.equal(viaExpress.status, fast.status, body);
        assert.equal(viaExpress.type, fast.type, body);
        assert.equal(viaExpress.body, fast.body.replaceAll('same1', 'same2'), body);
      }
    });
  });
});
