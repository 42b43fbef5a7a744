import type { Knex } from 'knex';
import { toHttpError } from '../db/database-errors';

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
  list(page: UserPage): Promise<User[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
}

async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHttpError(error) ?? error;
  }
}

export function knexUsersRepository(db: Knex): UsersRepository {
  return {
    add: (user) =>
      translated(async () => {
        const [row] = await db<User>('users').insert(user).returning(['id', 'username', 'email']);
        if (!row) throw new Error('insert returned no row');
        return row;
      }),
    list: ({ limit, after }) =>
      translated(() =>
        db<User>('users')
          .select('id', 'username', 'email')
          .where('id', '>', after)
          .orderBy('id')
          .limit(limit),
      ),
    ping: () =>
      translated(async () => {
        await db.raw('select 1');
      }),
  };
}
