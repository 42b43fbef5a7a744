import type { Knex } from 'knex';
import { type PreparedStatement, runPrepared } from '../db/prepared-statement';
import { type ReadRoute, writerOnly } from '../db/read-routing';

export interface User {
  id: number;
  username: string;
  email: string;
}

interface UserPage {
  limit: number;
  /** Only users with an id greater than this (keyset pagination: stable under concurrent inserts). */
  after: number;
}

/** A page of users as the JSON text of `User[]`, ordered by id, ready to send as it is. */
interface UserPageJson {
  json: string;
  count: number;
  /** The id of the page's last user; null for an empty page. */
  lastId: number | null;
}

/** Failures are database-level errors (db/database-errors.ts): a duplicate value, the database away, or a bug. */
export interface UsersRepository {
  add(user: Omit<User, 'id'>): Promise<void>;
  /** May lag behind `add` when reads go to a replica. */
  list(page: UserPage): Promise<UserPageJson>;
}

const INSERT_USER: PreparedStatement = {
  name: 'cloudy-insert-user',
  text: 'insert into users (username, email) values ($1, $2)',
};
// PostgreSQL writes the page's JSON: Node then parses one text value instead of every row and sends it
// untouched. row_to_json is compact, keeps the columns' order and escapes as JSON.stringify does, so the body
// is byte for byte what serialising the rows in Node gave (test/integration/web/users-repository.test.ts).
// The aggregate takes the rows in the order of the limited subquery (which PostgreSQL cannot flatten, so it
// feeds the aggregate from the index scan in id order); an ORDER BY inside string_agg would sort the page
// again and, measured here, double the query's time.
const LIST_USERS: PreparedStatement = {
  name: 'cloudy-list-users-json',
  text: `select count(*)::int as count, max(id) as "lastId",
      coalesce('[' || string_agg(row_to_json(page)::text, ',') || ']', '[]') as json
    from (select id, username, email from users where id > $1 order by id limit $2) page`,
};

/** Writes on `db` (the writer); the list, which tolerates replica lag, where `reads` sends it. */
export function knexUsersRepository(db: Knex, reads: ReadRoute = writerOnly(db)): UsersRepository {
  return {
    add: async (user) => {
      await runPrepared(db, INSERT_USER, [user.username, user.email]);
    },
    list: async ({ limit, after }) => {
      const [page] = await reads.replicaTolerant((pool) =>
        runPrepared<UserPageJson>(pool, LIST_USERS, [after, limit]),
      );
      if (!page) throw new Error('the page query returned no row');
      return page;
    },
  };
}
