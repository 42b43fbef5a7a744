import type { Answer } from '../http/answer';
import { parseNewUser, parseUserPage } from './user-input';
import type { UsersRepository } from './users-repository';

export interface UsersRoutes {
  /** `GET /users`: a page of users, the next page in the `Link` header. */
  list(query: Record<string, unknown>): Promise<Answer>;
  /** `POST /users` with the parsed JSON body. */
  add(body: unknown): Promise<Answer>;
}

/** The two users routes, once, for both servers that carry them (Express and the instance's node:http path). */
export function usersRoutes(users: UsersRepository, basePath = ''): UsersRoutes {
  return {
    async list(query) {
      const page = parseUserPage(query);
      const { json, count, lastId } = await users.list(page);
      const more = lastId !== null && count === page.limit;
      return {
        status: 200,
        json,
        ...(more
          ? { headers: { Link: `<${basePath}/users?limit=${page.limit}&after=${lastId}>; rel="next"` } }
          : {}),
      };
    },
    async add(body) {
      const user = parseNewUser(body);
      await users.add(user);
      return { status: 201, json: JSON.stringify({ message: `user ${user.username} added successfully` }) };
    },
  };
}
