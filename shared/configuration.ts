import { z } from 'zod';

/**
 * Every program (web app, sidecar, metrics reporter, failover function) reads its settings from the
 * environment once at start, through `parseEnv` and one zod schema; a setting that is missing or invalid stops
 * the start with every problem named at once. The pieces below are the settings more than one program shares.
 */

/** A setting is missing or invalid: the program cannot start, and restarting it will not help. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** Validates `env` against one program's schema; throws a ConfigurationError naming each bad key. */
export function parseEnv<Schema extends z.ZodType>(
  schema: Schema,
  component: string,
  env: Record<string, unknown> = process.env,
): z.output<Schema> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.');
    // zod says "expected string, received undefined"; for a variable that is not set, "required" says it.
    const message = issue.code === 'invalid_type' && env[key] === undefined ? 'required' : issue.message;
    return `${key}: ${message}`;
  });
  throw new ConfigurationError(`invalid ${component} configuration: ${problems.join('; ')}`);
}

/** A stage parameter left empty arrives as an empty variable: the same as unset. */
export const unsetIfEmpty = <Schema extends z.ZodType>(schema: Schema) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), schema);

/** A positive whole number (a count, a duration): the one parser of such settings, `.optional()` where it has no default. */
export const positiveInteger = z.coerce.number().int().positive();

export const positiveInt = (fallback: number) => positiveInteger.default(fallback);

/** The one boolean parser: `true`/`1` or `false`/`0` (any case), or a JSON boolean; empty is false. */
export const booleanFlag = z.preprocess(
  (value) =>
    typeof value === 'boolean'
      ? String(value)
      : typeof value === 'string'
        ? value.trim().toLowerCase()
        : value,
  z
    .enum(['true', '1', 'false', '0', ''], { error: 'must be true or false' })
    .transform((value) => value === 'true' || value === '1'),
);

/**
 * VIRTUAL_IP: the database tier's virtual address, routed as `<VIRTUAL_IP>/32` to the primary. The web app
 * connects to it, the primary's sidecar and the failover function move its route.
 */
export const virtualIp = z.preprocess(
  (value) => (typeof value === 'string' ? value.trim() || undefined : value),
  z.ipv4().default('10.10.10.10'),
);
