import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseEnv, positiveInt, unsetIfEmpty, virtualIp } from '../shared/configuration';

const optionalUrl = unsetIfEmpty(z.url().optional());
// The stack always exports the database hosts, empty when the tier has no such endpoint.
const optionalText = unsetIfEmpty(z.string().optional());
const optionalPath = unsetIfEmpty(z.string().startsWith('/').optional());

/**
 * Every setting of the web app, read from the environment once at start. Either DATABASE_URL, or the
 * DB_SECRET_* keys and one CA source (DB_CA_PARAMETER or DB_CA_FILE) for the cross-account secret used on AWS.
 */
const webEnv = z.object({
  /** HTTP port (the ALB target group forwards to 8080). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  /** A PostgreSQL URL; when set, the secret settings are ignored. */
  DATABASE_URL: z.url().optional(),
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
  VIRTUAL_IP: virtualIp,
  /** Writer host when the secret names none (databaseEngine aurora: the cluster endpoint); else VIRTUAL_IP. */
  DB_WRITER_HOST: optionalText,
  /** Reader host (aurora: the reader endpoint): replica-tolerant reads go there. Empty = none. */
  DB_READER_HOST: optionalText,
  /** With DATABASE_URL: a PostgreSQL URL for replica-tolerant reads (a streaming replica of DATABASE_URL). */
  DATABASE_READER_URL: z.url().optional(),
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
});

/** Where the CA that verifies the database's certificate comes from. */
type DatabaseCaSource = { kind: 'parameter'; name: string } | { kind: 'file'; path: string };

/** Where the database is, and how the app logs in: the URL mode, or the cross-account secret on AWS. */
type DatabaseSettings =
  | { kind: 'url'; url: string; readerUrl: string | undefined }
  | {
      kind: 'secret';
      roleArn: string;
      secretId: string;
      secretRegion: string;
      ca: DatabaseCaSource;
      /** The writer's host when the secret names none: DB_WRITER_HOST, else VIRTUAL_IP. */
      writerHost: string;
      readerHost: string | undefined;
    };

const SECRET_KEYS = ['DB_SECRET_ROLE_ARN', 'DB_SECRET_ID', 'DB_SECRET_REGION'] as const;

/** Exactly one CA source, or undefined (with an issue). */
function caSource(env: z.output<typeof webEnv>, ctx: z.RefinementCtx): DatabaseCaSource | undefined {
  const { DB_CA_PARAMETER, DB_CA_FILE } = env;
  if (DB_CA_PARAMETER && !DB_CA_FILE) return { kind: 'parameter', name: DB_CA_PARAMETER };
  if (DB_CA_FILE && !DB_CA_PARAMETER) return { kind: 'file', path: DB_CA_FILE };
  ctx.addIssue({
    code: 'custom',
    path: ['DB_CA_PARAMETER'],
    message: 'set exactly one of DB_CA_PARAMETER and DB_CA_FILE when DATABASE_URL is not set',
  });
  return undefined;
}

/** The database settings of one mode, or undefined (with an issue per missing key). */
function databaseSettings(env: z.output<typeof webEnv>, ctx: z.RefinementCtx): DatabaseSettings | undefined {
  if (env.DATABASE_URL) return { kind: 'url', url: env.DATABASE_URL, readerUrl: env.DATABASE_READER_URL };
  const { DB_SECRET_ROLE_ARN, DB_SECRET_ID, DB_SECRET_REGION } = env;
  const ca = caSource(env, ctx);
  if (!DB_SECRET_ROLE_ARN || !DB_SECRET_ID || !DB_SECRET_REGION || !ca) {
    for (const key of SECRET_KEYS)
      if (!env[key])
        ctx.addIssue({ code: 'custom', path: [key], message: 'required when DATABASE_URL is not set' });
    return undefined;
  }
  return {
    kind: 'secret',
    roleArn: DB_SECRET_ROLE_ARN,
    secretId: DB_SECRET_ID,
    secretRegion: DB_SECRET_REGION,
    ca,
    writerHost: env.DB_WRITER_HOST ?? env.VIRTUAL_IP,
    readerHost: env.DB_READER_HOST,
  };
}

const webConfig = webEnv.transform((env, ctx) => {
  if (env.AUTH_ISSUER && !env.AUTH_AUDIENCE) {
    ctx.addIssue({ code: 'custom', path: ['AUTH_AUDIENCE'], message: 'required when AUTH_ISSUER is set' });
  }
  const database = databaseSettings(env, ctx);
  if (!database) return z.NEVER;
  // The database keys live on only as `database`, in the shape of their mode.
  const {
    DATABASE_URL,
    DATABASE_READER_URL,
    DB_SECRET_ROLE_ARN,
    DB_SECRET_ID,
    DB_SECRET_REGION,
    DB_CA_PARAMETER,
    DB_CA_FILE,
    DB_WRITER_HOST,
    DB_READER_HOST,
    ...settings
  } = env;
  return { ...settings, database };
});

export type WebConfig = z.output<typeof webConfig>;

export function readWebConfig(env: NodeJS.ProcessEnv = process.env): WebConfig {
  return parseEnv(webConfig, 'web app', env);
}
