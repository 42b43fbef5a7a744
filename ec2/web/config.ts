import { availableParallelism } from 'node:os';
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
// A stage parameter left empty arrives as an empty variable: the same as unset (the stack always exports the
// database hosts, empty when the tier has no such endpoint).
const optionalUrl = z.preprocess((value) => (value === '' ? undefined : value), z.url().optional());
const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());
const optionalPath = z.preprocess(
  (value) => (value === '' ? undefined : value),
  z.string().startsWith('/').optional(),
);

/**
 * Every setting of the web app, read from the environment once at start. Either DATABASE_URL, or the
 * three DB_SECRET_* keys for the cross-account secret used on AWS.
 */
const webConfig = z
  .object({
    /** HTTP port (the ALB target group forwards to 8080). */
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().default('0.0.0.0'),
    /** A PostgreSQL URL; when set, the secret settings are ignored. */
    DATABASE_URL: z.string().url().optional(),
    /** Role in the secrets account that may read the secret (sts:AssumeRole target). */
    DB_SECRET_ROLE_ARN: z.string().startsWith('arn:').optional(),
    /** Secret id or ARN holding {"username","password"[,"host","port","dbname"]}. */
    DB_SECRET_ID: z.string().min(1).optional(),
    /** Region of the secret. */
    DB_SECRET_REGION: z.string().min(1).optional(),
    /**
     * Where the CA that TLS to the database is verified against comes from (exactly one, without DATABASE_URL):
     * an SSM parameter of this account (databaseEngine instances: the tier publishes its own CA there) or a PEM
     * file on this machine (aurora: the RDS certificate bundle). Empty = unset.
     */
    DB_CA_PARAMETER: optionalPath,
    DB_CA_FILE: optionalPath,
    /** Database host when the secret names none: the database tier's virtual IP. */
    VIRTUAL_IP: z.string().default('10.10.10.10'),
    /** Writer host when the secret names none (databaseEngine aurora: the cluster endpoint); else VIRTUAL_IP. */
    DB_WRITER_HOST: optionalText,
    /** Reader host (aurora: the reader endpoint): replica-tolerant reads go there. Empty = none. */
    DB_READER_HOST: optionalText,
    /** With DATABASE_URL: a PostgreSQL URL for replica-tolerant reads (a streaming replica of DATABASE_URL). */
    DATABASE_READER_URL: z.string().url().optional(),
    /** HTTP worker processes (each serves HTTP on the same port); default one per core. */
    WEB_PROCESSES: positiveInt(availableParallelism()),
    /** Threads for /load across all processes; default one per core. */
    LOAD_THREADS: positiveInt(availableParallelism()),
    /** /load requests allowed to wait per process before answering 503. */
    LOAD_QUEUE_LIMIT: positiveInt(32),
    /** Database connections per process. */
    DB_POOL_MAX: positiveInt(10),
    /** Set: POST /users and GET /load need a bearer JWT from this issuer (http/authentication.ts). */
    AUTH_ISSUER: optionalUrl,
    /** The audience those tokens must name; required with AUTH_ISSUER. */
    AUTH_AUDIENCE: optionalText,
    /** The issuer's JWKS; default <AUTH_ISSUER>/.well-known/jwks.json (Cognito's and most OIDC providers'). */
    AUTH_JWKS_URL: optionalUrl,
    /** In-flight requests get this long after SIGTERM (below the target group's 20 s deregistration delay). */
    SHUTDOWN_GRACE_MS: positiveInt(15_000),
  })
  .superRefine((config, ctx) => {
    if (config.AUTH_ISSUER && !config.AUTH_AUDIENCE) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_AUDIENCE'], message: 'required when AUTH_ISSUER is set' });
    }
    if (config.DATABASE_URL) return;
    for (const key of ['DB_SECRET_ROLE_ARN', 'DB_SECRET_ID', 'DB_SECRET_REGION'] as const) {
      if (!config[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'required when DATABASE_URL is not set' });
      }
    }
    if (Boolean(config.DB_CA_PARAMETER) === Boolean(config.DB_CA_FILE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DB_CA_PARAMETER'],
        message: 'set exactly one of DB_CA_PARAMETER and DB_CA_FILE when DATABASE_URL is not set',
      });
    }
  });

export type WebConfig = z.infer<typeof webConfig>;

export class ConfigurationError extends Error {}

export function readWebConfig(env: NodeJS.ProcessEnv = process.env): WebConfig {
  const result = webConfig.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}
