// A real OpenID Provider for the tests: panva's oidc-provider (npm, pinned in package.json),
// on 127.0.0.1, issuer http://localhost:PORT (or OIDC_ISSUER), started by
// tests/support/oidc_provider.py and stopped with SIGTERM. Nothing here is reached from
// outside the machine.
//
// Clients (both for the implicit flow, response_type=id_token with a nonce, as the dialog
// uses it):  "vouch-test" and "other-client" (a second relying party, for wrong-audience
// tests). Their redirect URIs are OIDC_REDIRECT_URI (comma-separated).
//
// Login: with a login_hint (the `sub` to sign in as) it is scripted, and the interaction is
// finished at once (login and consent), so a client that follows redirects (httpx) ends at
// the redirect URI with #id_token=... in the fragment. Without one, the provider shows its
// login page, a form asking for the account to sign in as (a browser test fills it in).
//
// Test controls, under /_test/ (this process only ever serves tests):
//   POST /_test/rotate          a new signing key (new kid) signs from now on; the old one
//                               stays published, as in a real rotation
//   POST /_test/clock?offset=S  ID tokens are made S seconds off the clock (issued in the
//                               past: expired, or with an old iat; or in the future)
//   POST /_test/jwks_cache?max_age=S  the Cache-Control max-age its JWKS is served with
//   GET  /_test/stats           {"jwks_requests": n, "discovery_requests": n}
//   GET  /_test/keys            its private signing keys, so a second provider (another
//                               issuer) can share them, as a multi-tenant provider does
// Start with OIDC_KEYS=<that JSON> to share them.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 0);
const redirectUris = (process.env.OIDC_REDIRECT_URI || 'http://localhost:1/oidc-callback.html')
  .split(',');
// The clock offset applies while an authorization resumes (/auth/UID), where the ID token is
// made: the login before it runs on time, so its cookies stay valid.
const realNow = Date.now.bind(Date);
let offsetMs = 0;
let tokenOffsetMs = 0;
Date.now = () => realNow() + offsetMs;

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

let keys = process.env.OIDC_KEYS ? JSON.parse(process.env.OIDC_KEYS) : [newKey()];
let jwksMaxAge = null;
const stats = { jwks_requests: 0, discovery_requests: 0 };
let issuer = process.env.OIDC_ISSUER || 'http://localhost:{port}';
let provider = null;
let handler = null;

function build() {
  const built = new Provider(issuer, {
    clients: ['vouch-test', 'other-client'].map((clientId) => ({
      client_id: clientId,
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      response_types: ['id_token'],
      grant_types: ['implicit'],
      redirect_uris: redirectUris,
    })),
    responseTypes: ['id_token'],
    jwks: { keys },
    cookies: { keys: ['vouch-test-only-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    ttl: { IdToken: 600 },
  });
  // The implicit flow needs an https redirect URI outside localhost (OpenID Connect Core
  // 3.2.2.1); the tests' callback is on http://localhost (oidc-provider's recipe
  // "implicit_http_localhost" lifts exactly these two checks).
  const { invalidate } = built.Client.Schema.prototype;
  built.Client.Schema.prototype.invalidate = function relaxed(message, code) {
    if (code === 'implicit-force-https' || code === 'implicit-forbid-localhost') return;
    invalidate.call(this, message, code);
  };
  built.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks') {
      stats.jwks_requests += 1;
      if (jwksMaxAge !== null) ctx.set('Cache-Control', `public, max-age=${jwksMaxAge}`);
    } else if (ctx.path === '/.well-known/openid-configuration') {
      stats.discovery_requests += 1;
    }
  });
  handler = built.callback();
  return built;
}

async function finish(req, res, sub) {
  const { prompt, params } = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId: sub, clientId: params.client_id });
  grant.addOIDCScope('openid');
  const grantId = await grant.save();
  const result = { consent: { grantId } };
  if (prompt.name === 'login') result.login = { accountId: sub };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const LOGIN_PAGE = (uid, client) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to the test provider</title></head>
<body><main><h1>Sign in to the test provider</h1><p>${client} asks who you are.</p>
<form method="post" action="/interaction/${uid}/login">
<label for="sub">Account</label> <input id="sub" name="sub" autocomplete="username" required>
<button type="submit">Sign in</button></form></main></body></html>`;

function formField(req, name) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(new URLSearchParams(body).get(name)));
    req.on('error', reject);
  });
}

async function interaction(req, res) {
  const { uid, params, session } = await provider.interactionDetails(req, res);
  if (req.method === 'POST' && req.url.endsWith('/login')) {
    const sub = await formField(req, 'sub');
    if (!sub) return json(res, 400, { error: 'no account given' });
    return finish(req, res, sub);
  }
  const hinted = params.login_hint || session?.accountId;
  if (hinted) return finish(req, res, String(hinted));
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  return res.end(LOGIN_PAGE(uid, String(params.client_id).replace(/[^\w.-]/g, '')));
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function control(req, res, url) {
  switch (`${req.method} ${url.pathname}`) {
    case 'POST /_test/rotate':
      keys = [newKey(), ...keys];
      provider = build();
      return json(res, 200, { kid: keys[0].kid });
    case 'POST /_test/clock':
      tokenOffsetMs = Number(url.searchParams.get('offset') || 0) * 1000;
      return json(res, 200, { offset: tokenOffsetMs / 1000 });
    case 'POST /_test/jwks_cache': {
      const value = url.searchParams.get('max_age');
      jwksMaxAge = value === null ? null : Number(value);
      return json(res, 200, { max_age: jwksMaxAge });
    }
    case 'GET /_test/stats':
      return json(res, 200, stats);
    case 'GET /_test/keys':
      return json(res, 200, keys);
    default:
      return json(res, 404, { error: 'unknown test control' });
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/_test/')) return control(req, res, url);
  if (url.pathname.startsWith('/interaction/')) {
    return interaction(req, res).catch((error) => json(res, 400, { error: String(error) }));
  }
  if (url.pathname.startsWith('/auth/') && tokenOffsetMs) {
    offsetMs = tokenOffsetMs;
    res.on('finish', () => { offsetMs = 0; });
  }
  return handler(req, res);
});

server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  issuer = issuer.replace('{port}', String(bound));
  provider = build();
  // The one line the Python side waits for.
  process.stdout.write(`${JSON.stringify({ issuer, port: bound })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
