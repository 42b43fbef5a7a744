// The optional authentication (AUTH_ISSUER set): real ES256 tokens signed here, the issuer's keys served as a
// JWKS from 127.0.0.1 and fetched by the production code (jose's remote key set), the real app and PostgreSQL.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { authenticationFromConfig } from '../../../web/authentication-from-config';
import { readWebConfig } from '../../../web/config';
import { startWebHarness, type WebHarness } from '../../support/web-harness';

const AUDIENCE = 'cloudy-api';
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let jwks: Server;
let issuer: string;
let harness: WebHarness;
let issuerKey: Key;
let strangerKey: Key;

async function token(
  claims: JWTPayload,
  options: { key?: Key; expiresIn?: string | number; audience?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'issuer-key' })
    .setIssuer(issuer)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? issuerKey);
}

const addUser = (name: string, bearer?: string) =>
  fetch(`${harness.baseUrl}/users`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify({ username: name, email: `${name}@example.com` }),
  });

before(async () => {
  const pair = await generateKeyPair('ES256');
  issuerKey = pair.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'issuer-key', alg: 'ES256', use: 'sig' };
  jwks = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  jwks.listen(0, '127.0.0.1');
  await once(jwks, 'listening');
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  const config = readWebConfig({
    DATABASE_URL: 'postgres://unused@127.0.0.1/db',
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: AUDIENCE,
  });
  const authenticate = authenticationFromConfig(config);
  assert.ok(authenticate);
  harness = await startWebHarness({ authenticate });
});

after(async () => {
  await harness?.close();
  jwks?.close();
});

describe('optional bearer-token authentication', () => {
  it('accepts a write with a valid token from the issuer', async () => {
    // Act
    const response = await addUser('ann', await token({}));
    // Assess
    assert.equal(response.status, 201);
  });

  it('refuses a write without a token, with a Bearer challenge and nothing else said', async () => {
    // Act
    const response = await addUser('bob');
    // Assess
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(await response.json(), { error: 'authentication required' });
  });

  it('refuses tokens signed by another key, expired, for another audience, or unsigned', async () => {
    // Prepare
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }),
    ).toString('base64url')}.`;
    const tokens = {
      stranger: await token({}, { key: strangerKey }),
      expired: await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      otherAudience: await token({}, { audience: 'someone-else' }),
      unsigned,
    };
    // Act
    const statuses = Object.fromEntries(
      await Promise.all(
        Object.entries(tokens).map(async ([name, bearer]) => {
          const response = await addUser(`eve-${name}`, bearer);
          return [name, [response.status, response.headers.get('www-authenticate')]];
        }),
      ),
    );
    // Assess
    const refused = [401, 'Bearer error="invalid_token"'];
    assert.deepEqual(statuses, {
      stranger: refused,
      expired: refused,
      otherAudience: refused,
      unsigned: refused,
    });
    const users = (await (await fetch(`${harness.baseUrl}/users`)).json()) as { username: string }[];
    assert.ok(!users.some((user) => user.username.startsWith('eve')), 'nothing was written');
  });

  it('guards /load too, and leaves reads and health checks open', async () => {
    // Act
    const load = await fetch(`${harness.baseUrl}/load?number=7`);
    const loadWithToken = await fetch(`${harness.baseUrl}/load?number=7`, {
      headers: { authorization: `Bearer ${await token({})}` },
    });
    const list = await fetch(`${harness.baseUrl}/users`);
    const health = await fetch(`${harness.baseUrl}/health`);
    // Assess
    assert.deepEqual([load.status, loadWithToken.status, list.status, health.status], [401, 200, 200, 200]);
  });

  it('is off unless configured: the original open API', async () => {
    // Act
    const config = readWebConfig({
      DATABASE_URL: 'postgres://unused@127.0.0.1/db',
      AUTH_ISSUER: '',
      AUTH_AUDIENCE: '',
    });
    // Assess
    assert.equal(authenticationFromConfig(config), undefined);
    assert.throws(
      () => readWebConfig({ DATABASE_URL: 'postgres://unused@127.0.0.1/db', AUTH_ISSUER: issuer }),
      /AUTH_AUDIENCE/,
    );
  });
});
