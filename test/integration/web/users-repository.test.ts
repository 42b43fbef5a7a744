import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { urlConnectionProvider } from '../../../shared/database-access/connection-provider';
import { createDatabase } from '../../../web/db/database';
import { DatabaseUnavailableError, DuplicateValueError } from '../../../web/db/database-errors';
import { knexDatabaseHealth } from '../../../web/db/database-health';
import { withPoolConnection } from '../../../web/db/knex-pool-connection';
import { migrateToLatest } from '../../../web/db/migrate';
import { type PreparedStatement, runPrepared } from '../../../web/db/prepared-statement';
import { knexUsersRepository } from '../../../web/users/users-repository';
import { startVipRouter } from '../../chaos/vip-router';
import { freePort, startTestPostgres, type TestPostgres } from '../../support/local-postgres';

describe('the users repository and the database layer on a real PostgreSQL', () => {
  let pg: TestPostgres;
  let db: Knex;
  before(async () => {
    pg = await startTestPostgres();
    db = createDatabase({ provider: urlConnectionProvider(pg.url), poolMax: 2 });
    await migrateToLatest(db);
  });
  beforeEach(async () => {
    await db.raw('truncate users restart identity');
  });
  after(async () => {
    await db.destroy();
    await pg.destroy();
  });

  describe('runPrepared', () => {
    it('makes PostgreSQL prepare the statement once per connection under its name', async () => {
      // Prepare: a statement of the test's own, so that nothing else has prepared it.
      const statement: PreparedStatement = { name: 'cloudy-test-statement', text: 'select $1::int + 1 as n' };

      // Act: run it twice on one connection (a transaction holds one), then ask that connection.
      const { results, prepared } = await db.transaction(async (trx) => {
        const results = [await runPrepared(trx, statement, [1]), await runPrepared(trx, statement, [41])];
        const { rows } = await trx.raw(
          'select name, statement, generic_plans + custom_plans as executions from pg_prepared_statements',
        );
        return { results, prepared: rows as { name: string; statement: string; executions: string }[] };
      });

      // Assess: right answers, one prepared statement, executed twice.
      assert.deepEqual(results, [[{ n: 2 }], [{ n: 42 }]]);
      assert.deepEqual(prepared, [
        { name: 'cloudy-test-statement', statement: 'select $1::int + 1 as n', executions: '2' },
      ]);
    });
  });

  describe('withPoolConnection (the one reliance on knex internals)', () => {
    // The timeout and the bounded destroy make a knex that no longer gives connections back fail, not hang.
    it('lends a connection of the knex pool, makes others wait for it, and gives it back', {
      timeout: 15_000,
    }, async () => {
      // Prepare: a pool of one connection, so that lending and giving back are observable.
      const single = createDatabase({ provider: urlConnectionProvider(pg.url), poolMax: 1 });
      const order: string[] = [];
      try {
        // Act: two borrowers at once, then a third after both.
        let releaseFirst = () => {};
        const held = new Promise<void>((resolve) => {
          releaseFirst = resolve;
        });
        const first = withPoolConnection(single, async (connection) => {
          order.push('first has it');
          await held;
          const { rows } = await connection.query({
            name: 'cloudy-test-pid',
            text: 'select pg_backend_pid() as pid',
            values: [],
          });
          order.push('first gives it back');
          return rows;
        });
        const second = withPoolConnection(single, async (connection) => {
          order.push('second has it');
          return (
            await connection.query({
              name: 'cloudy-test-pid',
              text: 'select pg_backend_pid() as pid',
              values: [],
            })
          ).rows;
        });
        await new Promise((resolve) => setTimeout(resolve, 200)); // the second is queued by now
        releaseFirst();
        const [a, b] = await Promise.all([first, second]);
        const third = await runPrepared(
          single,
          { name: 'cloudy-test-pid', text: 'select pg_backend_pid() as pid' },
          [],
        );

        // Assess: one connection, lent in turn, and free again afterwards.
        assert.deepEqual(order, ['first has it', 'first gives it back', 'second has it']);
        assert.deepEqual(a, b);
        assert.deepEqual(b, third);
      } finally {
        await Promise.race([single.destroy(), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
      }
    });
  });

  describe('a connection whose query got no answer', () => {
    it('is discarded, not lent again: after a dropped flow the next query gets a new connection', {
      timeout: 30_000,
    }, async () => {
      // Prepare: the app's pool reaches PostgreSQL through a VIP router, as on AWS; one connection in use.
      const serverPort = Number(new URL(pg.url).port);
      let target: number | undefined = serverPort;
      const router = await startVipRouter(() => target);
      const url = new URL(pg.url);
      url.port = String(router.port);
      const moved = createDatabase({ provider: urlConnectionProvider(url.toString()), poolMax: 1 });
      const pid = { name: 'cloudy-test-pid', text: 'select pg_backend_pid() as pid' };
      try {
        const [before] = await runPrepared<{ pid: number }>(moved, pid, []);
        // Act: the route moves away and back; the old flow is silently dropped on the way (no reset).
        target = undefined;
        router.reroute();
        await assert.rejects(runPrepared(moved, pid, []), (error: Error) =>
          /Query read timeout/.test(String(error.cause)),
        );
        target = serverPort;
        router.reroute();
        const [after] = await runPrepared<{ pid: number }>(moved, pid, []);
        // Assess: the dropped connection was not handed out again.
        assert.notEqual(after?.pid, before?.pid);
      } finally {
        await Promise.race([moved.destroy(), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
        await router.close();
      }
    });
  });

  describe('list', () => {
    it('returns the page as the JSON text Node would have written for the rows, byte for byte', async () => {
      // Prepare: names with everything JSON must escape, and characters it must not.
      const awkward = [
        'quote " and backslash \\',
        'tab\tnewline\nreturn\r',
        'control \u0001\u001f and del \u007f',
        'unicode é ß 漢字 😀 \u2028',
        '</script> & slash /',
      ];
      const users = awkward.map((username, i) => ({ username, email: `u${i}@example.com` }));
      const repository = knexUsersRepository(db);
      for (const user of users) await repository.add(user);

      // Act
      const page = await repository.list({ limit: 100, after: 0 });

      // Assess
      const expected = users.map((user, i) => ({ id: i + 1, ...user }));
      assert.equal(page.json, JSON.stringify(expected));
      assert.equal(page.count, users.length);
      assert.equal(page.lastId, users.length);
    });

    it('pages by id with limit and after, and says how many rows the page holds', async () => {
      // Prepare
      const repository = knexUsersRepository(db);
      for (let i = 1; i <= 5; i += 1) await repository.add({ username: `p${i}`, email: `p${i}@example.com` });

      // Act
      const first = await repository.list({ limit: 2, after: 0 });
      const last = await repository.list({ limit: 2, after: 4 });
      const beyond = await repository.list({ limit: 2, after: 5 });

      // Assess
      assert.deepEqual(
        (JSON.parse(first.json) as { id: number }[]).map((u) => u.id),
        [1, 2],
      );
      assert.deepEqual([first.count, first.lastId], [2, 2]);
      assert.deepEqual(JSON.parse(last.json), [{ id: 5, username: 'p5', email: 'p5@example.com' }]);
      assert.deepEqual([last.count, last.lastId], [1, 5]);
      assert.deepEqual(beyond, { json: '[]', count: 0, lastId: null });
    });
  });

  describe('errors', () => {
    it('throws a duplicate value naming the column for a taken username or email', async () => {
      // Prepare
      const repository = knexUsersRepository(db);
      await repository.add({ username: 'dora', email: 'dora@example.com' });

      const sameName = repository.add({ username: 'dora', email: 'other@example.com' });
      const sameEmail = repository.add({ username: 'dorothy', email: 'dora@example.com' });

      // Act / Assess
      await assert.rejects(
        sameName,
        (error) => error instanceof DuplicateValueError && error.field === 'username',
      );
      await assert.rejects(
        sameEmail,
        (error) => error instanceof DuplicateValueError && error.field === 'email',
      );
    });

    it('says the database is unavailable when nothing listens, from the repository and the health port', async () => {
      // Prepare: a pool pointed at a loopback port nobody listens on.
      const port = await freePort();
      const away = createDatabase({
        provider: urlConnectionProvider(`postgresql://nobody:none@127.0.0.1:${port}/none`),
        poolMax: 1,
      });
      try {
        // Act / Assess
        await assert.rejects(
          knexUsersRepository(away).list({ limit: 1, after: 0 }),
          DatabaseUnavailableError,
        );
        assert.deepEqual(await knexDatabaseHealth(away).status(), {
          writer: 'unavailable',
          reader: 'not configured',
        });
      } finally {
        await away.destroy();
      }
    });

    it('lets a programming error through as it is', async () => {
      // Prepare
      const broken: PreparedStatement = {
        name: 'cloudy-test-broken',
        text: 'select * from no_such_table where id = $1',
      };
      // Act / Assess
      await assert.rejects(
        runPrepared(db, broken, [1]),
        (error: { code?: string }) => error.code === '42P01',
      );
    });
  });
});
