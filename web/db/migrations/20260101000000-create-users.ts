import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('users', (table) => {
    table.increments('id').primary();
    table.string('username', 80).notNullable().unique();
    table.string('email', 120).notNullable().unique();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('users');
}
