import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { urlConnectionProvider } from '../../../shared/database-access/connection-provider';
import { createDatabase } from '../../../web/db/database';
import { migrateToLatest } from '../../../web/db/migrate';
import { startTestPostgres, type TestPostgres } from '../../support/local-postgres';

describe('migrateToLatest', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres();
  });
  after(async () => {
    await pg.destroy();
  });

  it('creates the users table exactly once when several instances boot at the same moment', async () => {
    // Prepare: four "instances", each with its own pool.
    const instances = Array.from({ length: 4 }, () =>
      createDatabase({ provider: urlConnectionProvider(pg.url), poolMax: 2 }),
    );

    // Act
    const applied = await Promise.all(instances.map((db) => migrateToLatest(db, { retryMs: 20 })));

    // Assess: one instance applied the migration, the others found it done; nobody failed.
    assert.deepEqual(applied.flat(), ['20260101000000-create-users']);
    const db = instances[0];
    assert.ok(db);
    const columns = await db('information_schema.columns')
      .where({ table_name: 'users' })
      .select('column_name', 'data_type', 'character_maximum_length', 'is_nullable')
      .orderBy('ordinal_position');
    assert.deepEqual(columns, [
      { column_name: 'id', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO' },
      {
        column_name: 'username',
        data_type: 'character varying',
        character_maximum_length: 80,
        is_nullable: 'NO',
      },
      {
        column_name: 'email',
        data_type: 'character varying',
        character_maximum_length: 120,
        is_nullable: 'NO',
      },
    ]);
    const unique = await db.raw(
      "select indexname from pg_indexes where tablename = 'users' and indexdef like 'CREATE UNIQUE%' order by indexname",
    );
    assert.deepEqual(
      unique.rows.map((r: { indexname: string }) => r.indexname),
      ['users_email_unique', 'users_pkey', 'users_username_unique'],
    );
    await Promise.all(instances.map((instance) => instance.destroy()));
  });
});
