import type { RequestHandler } from 'express';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { HttpError, ServiceUnavailableError } from './errors';

/** No valid bearer token: the body says only that, never why a token failed (that is logged). */
class UnauthorizedError extends HttpError {
  override readonly name = 'UnauthorizedError';
  readonly status = 401;
}

interface TokenRequirements {
  /** The `iss` every token must carry (e.g. a Cognito user pool's https://cognito-idp.REGION.amazonaws.com/ID). */
  issuer: string;
  /** The `aud` every token must carry (the app client id or API identifier). */
  audience: string;
  /** Where the issuer's public keys come from (a JWKS URL, fetched and cached by jose). */
  keys: JWTVerifyGetKey;
}

// Asymmetric signatures only: a shared-secret algorithm (HS256) would let anyone holding the key mint tokens.
const ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 5;

/** The issuer's keys from its JWKS endpoint, cached; a slow endpoint fails the request after 2 s. */
export function remoteKeys(jwksUrl: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 2_000, cooldownDuration: 30_000 });
}

/**
 * Requires `Authorization: Bearer <JWT>` signed by the issuer's keys, with the configured issuer and audience,
 * unexpired. A failure is 401 with a WWW-Authenticate challenge (RFC 6750); an unreachable key endpoint is 503.
 */
export function bearerTokenAuthentication(requirements: TokenRequirements): RequestHandler {
  return async (req, res, next) => {
    const [scheme, token] = (req.get('authorization') ?? '').split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      next(new UnauthorizedError('authentication required'));
      return;
    }
    try {
      const { payload } = await jwtVerify(token, requirements.keys, {
        issuer: requirements.issuer,
        audience: requirements.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      });
      res.locals.subject = payload.sub;
      next();
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        next(
          new ServiceUnavailableError('authentication unavailable, try again shortly', 2, { cause: error }),
        );
        return;
      }
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      next(new UnauthorizedError('invalid token', { cause: error }));
    }
  };
}
