import { z } from 'zod';
import { ValidationError } from '../http/errors';

export const USERS_PAGE_DEFAULT = 100;
export const USERS_PAGE_MAX = 1000;
const MAX_USER_ID = 2_147_483_647;

const newUser = z.strictObject({
  username: z.string().trim().min(1, 'must be 1-80 characters').max(80, 'must be 1-80 characters'),
  email: z.email('must be a valid email address').max(120, 'must be at most 120 characters'),
});

const decimalId = /^[0-9]{1,15}$/;

const userPage = z.object({
  limit: z
    .string()
    .regex(decimalId, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(USERS_PAGE_MAX, `must be at most ${USERS_PAGE_MAX}`))
    .default(USERS_PAGE_DEFAULT),
  after: z
    .string()
    .regex(decimalId, 'must be a user id')
    .transform(Number)
    // users.id is a PostgreSQL integer: a larger cursor is a client mistake, not a database error.
    .pipe(z.number().int().max(MAX_USER_ID, 'must be a user id'))
    .default(0),
});

function firstIssue(error: z.ZodError, fallbackField: string): ValidationError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || fallbackField;
  const message =
    issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue?.message;
  return new ValidationError(`${field}: ${message ?? 'invalid'}`, field);
}

export function parseNewUser(body: unknown): z.infer<typeof newUser> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('body must be a JSON object with username and email', 'body');
  }
  const result = newUser.safeParse(body);
  if (!result.success) throw firstIssue(result.error, 'body');
  return result.data;
}

export function parseUserPage(query: Record<string, unknown>): z.infer<typeof userPage> {
  const result = userPage.safeParse(query);
  if (!result.success) throw firstIssue(result.error, 'query');
  return result.data;
}
