import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Knex } from 'knex';
import { toDatabaseError } from '../../../web/db/database-errors';
import {
  chooseReadTarget,
  RETRY_READER_AFTER_MS,
  readerFirst,
  writerOnly,
} from '../../../web/db/read-routing';

// Stand-ins for the two pools: the routing only hands them to the work, it never calls them.
const writer = { name: 'writer' } as unknown as Knex;
const reader = { name: 'reader' } as unknown as Knex;
const nameOf = async (db: Knex) => (db as unknown as { name: string }).name;
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' });

describe('chooseReadTarget', () => {
  const cases: [string, number, number, 'reader' | 'writer'][] = [
    ['reader never failed', 0, 1_000, 'reader'],
    ['reader failed, still within the pause', 6_000, 5_999, 'writer'],
    ['the pause is over', 6_000, 6_000, 'reader'],
  ];
  for (const [name, downUntil, now, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      assert.equal(chooseReadTarget(downUntil, now), expected);
    });
  }
});

describe('readerFirst', () => {
  it('runs reads on the reader while it answers', async () => {
    // Act
    const route = readerFirst({ writer, reader });

    // Assess
    assert.equal(await route.replicaTolerant(nameOf), 'reader');
  });

  it('retries a read on the writer when the reader cannot answer, and stays there for the pause', async () => {
    // Prepare: a clock the test moves; the reader refuses connections.
    let now = 10_000;
    const away: unknown[] = [];
    const tried: string[] = [];
    const route = readerFirst({ writer, reader, now: () => now, onReaderAway: (error) => away.push(error) });
    const work = async (db: Knex) => {
      const name = await nameOf(db);
      tried.push(name);
      if (name === 'reader') throw refused;
      return name;
    };

    // Act
    const first = await route.replicaTolerant(work);
    now += RETRY_READER_AFTER_MS - 1;
    const withinPause = await route.replicaTolerant(work);
    now += 1;
    const afterPause = await route.replicaTolerant(work);

    // Assess: reader tried, writer answered; then the writer alone; then the reader again.
    assert.deepEqual([first, withinPause, afterPause], ['writer', 'writer', 'writer']);
    assert.deepEqual(tried, ['reader', 'writer', 'writer', 'reader', 'writer']);
    assert.deepEqual(away, [refused, refused]);
  });

  it('falls back as well when the failure comes as a database-level error (runPrepared)', async () => {
    // Prepare
    const unavailable = toDatabaseError(refused);
    const route = readerFirst({ writer, reader });

    // Act
    const answered = await route.replicaTolerant(async (db) => {
      const name = await nameOf(db);
      if (name === 'reader') throw unavailable;
      return name;
    });

    // Assess
    assert.equal(answered, 'writer');
  });

  it('does not retry on the writer a read that failed for another reason than availability', async () => {
    // Prepare
    const tried: string[] = [];
    const route = readerFirst({ writer, reader });
    const bug = Object.assign(new Error('column "nope" does not exist'), { code: '42703' });

    // Act / Assess
    await assert.rejects(
      route.replicaTolerant(async (db) => {
        tried.push(await nameOf(db));
        throw bug;
      }),
      bug,
    );
    assert.deepEqual(tried, ['reader']);
  });
});

describe('writerOnly', () => {
  it('runs every read on the writer', async () => {
    assert.equal(await writerOnly(writer).replicaTolerant(nameOf), 'writer');
  });
});
