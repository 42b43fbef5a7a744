import type { Knex } from 'knex';
import { toHttpError } from '../db/database-errors';
import { type PreparedStatement, runPrepared } from '../db/prepared-statement';
import { type ReadRoute, writerOnly } from '../db/read-routing';

export interface User {
  id: number;
  username: string;
  email: string;
}

export interface UserPage {
  limit: number;
  /** Only users with an id greater than this (keyset pagination: stable under concurrent inserts). */
  after: number;
}

export interface UsersRepository {
  add(user: Omit<User, 'id'>): Promise<User>;
  /** May lag behind `add` when reads go to a replica. */
  list(page: UserPage): Promise<User[]>;
}

async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHttpError(error) ?? error;
  }
}

const INSERT_USER: PreparedStatement = {
  name: 'cloudy-insert-user',
  text: 'insert into users (username, email) values ($1, $2) returning id, username, email',
};
const LIST_USERS: PreparedStatement = {
  name: 'cloudy-list-users',
  text: 'select id, username, email from users where id > $1 order by id limit $2',
};

/** Writes on `db` (the writer); the list, which tolerates replica lag, where `reads` sends it. */
export function knexUsersRepository(db: Knex, reads: ReadRoute = writerOnly(db)): UsersRepository {
  return {
    add: (user) =>
      translated(async () => {
        const [row] = await runPrepared<User>(db, INSERT_USER, [user.username, user.email]);
        if (!row) throw new Error('insert returned no row');
        return row;
      }),
    list: ({ limit, after }) =>
      translated(() => reads.replicaTolerant((pool) => runPrepared<User>(pool, LIST_USERS, [after, limit]))),
  };
}
