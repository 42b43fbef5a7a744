import type { RequestHandler } from 'express';
import type { WebConfig } from './config';
import { bearerTokenAuthentication, remoteKeys } from './http/authentication';

/** The app's optional authentication: undefined (an open API) unless AUTH_ISSUER is set. */
export function authenticationFromConfig(config: WebConfig): RequestHandler | undefined {
  if (!config.AUTH_ISSUER || !config.AUTH_AUDIENCE) return undefined;
  const jwksUrl = config.AUTH_JWKS_URL ?? `${config.AUTH_ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`;
  return bearerTokenAuthentication({
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    keys: remoteKeys(jwksUrl),
  });
}
