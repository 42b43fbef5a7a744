// The AWS session of a command run by a person (npm run db, bake-ami, loadtest, and later commands that call
// AWS): one way to find the region and the credentials, and one way to say why a call failed.
//
// Region: --region, else the SDK's own chain (AWS_REGION, then the profile's `region` in ~/.aws/config), else the
// region `sls deploy` uses without --region (serverless.yml: provider.region). Credentials: the SDK's default
// chain, for --profile (else AWS_PROFILE, else the default profile). Clients are built with `clientSettings()`.
import { readFileSync } from 'node:fs';
import { STSClient } from '@aws-sdk/client-sts';
import { awsErrorCode } from './aws-errors';

/** The options every AWS-calling command declares (spread into its CommandSpec's options). */
export const AWS_OPTIONS = {
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

export interface AwsSession {
  region: string;
  /** Where the region came from, for messages: a stack "not deployed" may be in another region. */
  regionSource: '--region' | 'AWS_REGION or the profile' | 'serverless.yml';
  profile?: string;
}

const SERVERLESS_YML = new URL('../serverless.yml', import.meta.url);

/** provider.region's default in serverless.yml (`${opt:region, 'eu-west-1'}`): where `sls deploy` deploys. */
export function deployRegion(serverlessYml: string = readFileSync(SERVERLESS_YML, 'utf8')): string {
  const match = /^provider:\n(?:[ ].*\n)*?[ ]+region: \$\{opt:region, '([a-z0-9-]+)'\}/m.exec(serverlessYml);
  if (!match?.[1])
    throw new Error('serverless.yml: provider.region is not of the form `$' + "{opt:region, 'REGION'}`");
  return match[1];
}

/** The usage lines of AWS_OPTIONS, with the default region named. */
export function awsOptionsUsage(): string {
  return `  --region REGION    the stage's region (default: AWS_REGION, then the profile's region, then ${deployRegion()}
                     as serverless.yml deploys)
  --profile NAME     the AWS profile for credentials and region (default: AWS_PROFILE, then the SDK's default chain)`;
}

/** The SDK's own region for a profile (env, then shared config), without any network call; undefined if none. */
async function sdkRegion(profile: string | undefined): Promise<string | undefined> {
  const client = new STSClient(profile ? { profile } : {});
  try {
    return await client.config.region();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

export async function resolveAwsSession(
  options: { region?: string | undefined; profile?: string | undefined },
  regionOfProfile: (profile: string | undefined) => Promise<string | undefined> = sdkRegion,
  defaultRegion: () => string = deployRegion,
): Promise<AwsSession> {
  const profile = options.profile ? { profile: options.profile } : {};
  if (options.region) return { region: options.region, regionSource: '--region', ...profile };
  const found = await regionOfProfile(options.profile);
  if (found) return { region: found, regionSource: 'AWS_REGION or the profile', ...profile };
  return { region: defaultRegion(), regionSource: 'serverless.yml', ...profile };
}

/** The settings every client of the command is built with. */
export function clientSettings(session: AwsSession): { region: string; profile?: string } {
  return { region: session.region, ...(session.profile ? { profile: session.profile } : {}) };
}

/** The deepest error in a chain of `cause`s that came from the SDK (or the last one). */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth += 1) {
    const next = (current as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) return current;
    current = next;
  }
  return current;
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'Forbidden',
]);
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'InvalidAccessKeyId',
]);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);

/**
 * Why a call failed, naming the cause and what to do, for the failures that are about the session rather than the
 * stack's state: no credentials, credentials refused or expired, no region, access denied (with the action and the
 * resource AWS names), a region not enabled, no network to AWS. Undefined for anything else (the caller's own
 * message stands). `operation` is the API call, for an AccessDenied whose message names no action.
 */
export function explainAwsError(error: unknown, session: AwsSession, operation?: string): string | undefined {
  const cause = rootCause(error);
  const code = awsErrorCode(cause);
  const message = cause instanceof Error ? cause.message : String(cause);
  const who = session.profile
    ? `profile ${session.profile}`
    : 'the SDK default chain (AWS_PROFILE, env, ~/.aws)';
  const where = `${session.region} (from ${session.regionSource})`;
  if (
    code === 'CredentialsProviderError' ||
    /could not load credentials|could not be found|profile .* not/i.test(message)
  ) {
    return `no AWS credentials from ${who}: ${message.split('\n')[0]} — pass --profile, set AWS_PROFILE, or sign in (aws configure / aws sso login)`;
  }
  if (EXPIRED.has(code)) return `the AWS credentials of ${who} have expired: sign in again (aws sso login)`;
  if (BAD_CREDENTIALS.has(code)) {
    return `AWS refused the credentials of ${who} (${code}) in ${where}: check the profile, or that the region is enabled for the account`;
  }
  if (/region is missing/i.test(message)) return 'no AWS region: pass --region or set AWS_REGION';
  if (ACCESS_DENIED.has(code)) {
    const action = /perform: ([\w:*-]+)/.exec(message)?.[1] ?? operation ?? 'the call';
    const resource = /on resource: (\S+)/.exec(message)?.[1]?.replace(/[.,]$/, '');
    const principal = /User: (\S+)/.exec(message)?.[1];
    return (
      `access denied: ${principal ?? who} may not ${action}${resource ? ` on ${resource}` : ''} in ${session.region}` +
      ' — grant it, or use a profile that has it'
    );
  }
  if (code === 'OptInRequired')
    return `the account has not enabled ${session.region} (OptInRequired): pass --region`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `cannot reach AWS in ${where}: no network or DNS (${code})`;
  return undefined;
}
