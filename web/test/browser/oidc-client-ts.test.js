// A real OpenID Connect client library in a real browser: `oidc-client-ts`
// (npm) runs as an SPA in headless Chromium, served from its own origin by a
// tiny local HTTP server, and signs in through Tessera's hosted page:
// discovery, authorization code + PKCE (S256), the ID token (its signature
// checked here against the JWKS with `jose`, its nonce and at_hash), userinfo,
// a refresh through the refresh token, and RP-initiated logout with
// id_token_hint (after which the refresh token is dead).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { launch, PASSWORD, startTessera, webDir } from './harness.js';

let browser;
let server;
let spa;
let origin;

const LIB = readFileSync(join(webDir, 'node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js'), 'utf8');

/** The SPA's script: a UserManager against Tessera, its results on <body data-*>. */
function appJs(authority) {
  return `
const mgr = new oidc.UserManager({
  authority: ${JSON.stringify(authority)},
  client_id: 'spa-ts',
  redirect_uri: location.origin + '/spa/cb',
  post_logout_redirect_uri: location.origin + '/spa/bye',
  response_type: 'code',
  scope: 'openid email offline_access',
  loadUserInfo: true,
  automaticSilentRenew: false,
  userStore: new oidc.WebStorageStateStore({ store: window.localStorage }),
});
const out = (k, v) => { document.body.dataset[k] = typeof v === 'string' ? v : JSON.stringify(v); };
const view = (u) => ({ sub: u.profile.sub, email: u.profile.email, id_token: u.id_token,
  access_token: u.access_token, refresh_token: u.refresh_token ?? null, scope: u.scope });
window.refresh = async () => view(await mgr.signinSilent());
window.logout = () => mgr.signoutRedirect();
(async () => {
  try {
    if (location.pathname === '/spa/') {
      document.getElementById('signin').addEventListener('click', () => mgr.signinRedirect({ nonce: 'n-' + Date.now() }));
      out('ready', '1');
    } else if (location.pathname === '/spa/cb') {
      out('user', view(await mgr.signinRedirectCallback()));
    }
  } catch (e) {
    out('error', String((e && e.message) || e));
  }
})();
`;
}

before(async () => {
  browser = await launch();
  let authority = '';
  spa = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const csp = `default-src 'none'; script-src 'self'; connect-src ${authority}; form-action 'none'; frame-ancestors 'none'`;
    const send = (type, body) => {
      res.writeHead(200, { 'content-type': type, 'content-security-policy': csp });
      res.end(body);
    };
    if (path === '/lib/oidc-client-ts.js') return send('text/javascript', LIB);
    if (path === '/spa/app.js') return send('text/javascript', appJs(authority));
    if (path.startsWith('/spa/')) {
      return send(
        'text/html; charset=utf-8',
        '<!doctype html><title>SPA</title><script src="/lib/oidc-client-ts.js"></script>' +
          '<script src="/spa/app.js" defer></script><button id="signin">Sign in</button>',
      );
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => spa.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${spa.address().port}`;
  server = await startTessera({ env: { TESSERA_CORS_ORIGINS: origin } });
  authority = server.url;
  execFileSync(
    server.bin,
    [
      'clients', 'create', '--id', 'spa-ts', '--public', '--first-party',
      '--grant', 'authorization_code', '--grant', 'refresh_token',
      '--redirect-uri', `${origin}/spa/cb`, '--post-logout-redirect-uri', `${origin}/spa/bye`,
    ],
    { env: server.env, cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
});

after(async () => {
  await browser?.close();
  await server?.stop();
  spa?.close();
});

test('oidc-client-ts signs in through the hosted page, refreshes and logs out', async () => {
  const email = `ts-${Date.now()}@example.com`;
  const reg = await fetch(`${server.url}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(reg.status, 201);
  const discovery = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
  const context = await browser.newContext();
  const p = await context.newPage();
  const problems = [];
  p.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(String(e)));

  await p.goto(`${origin}/spa/`);
  await p.waitForSelector('body[data-ready]');
  await Promise.all([p.waitForURL(`${server.url}/oauth2/authorize?**`), p.click('#signin')]);
  const asked = new URL(p.url()).searchParams;
  assert.equal(asked.get('code_challenge_method'), 'S256');
  await p.fill('#email', email);
  await p.fill('#password', PASSWORD);
  await Promise.all([p.waitForURL(`${origin}/spa/cb?**`), p.click('#submit')]);
  await p.waitForSelector('body[data-user], body[data-error]');
  const error = await p.getAttribute('body', 'data-error');
  assert.equal(error, null, error);
  const user = JSON.parse(await p.getAttribute('body', 'data-user'));
  assert.equal(user.email, email);
  assert.ok(user.refresh_token, 'offline_access gives a refresh token');

  // The ID token: signature (JWKS), issuer, audience, nonce, at_hash.
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(user.id_token, jwks, { issuer: server.url, audience: 'spa-ts' });
  assert.equal(payload.sub, user.sub);
  assert.equal(payload.nonce, asked.get('nonce'));
  assert.equal(protectedHeader.alg, 'ES256');
  const digest = createHash('sha256').update(user.access_token).digest();
  assert.equal(payload.at_hash, digest.subarray(0, 16).toString('base64url'));
  // Userinfo with the access token.
  const info = await (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${user.access_token}` } })).json();
  assert.equal(info.sub, user.sub);
  assert.equal(info.email, email);

  // Refresh in the page (the refresh token rotates).
  const refreshed = await p.evaluate(() => window.refresh());
  assert.equal(refreshed.sub, user.sub);
  assert.notEqual(refreshed.access_token, user.access_token);

  // Logout with id_token_hint: no confirmation, back at the SPA.
  // (the navigation may destroy the page's context before evaluate returns)
  await Promise.all([p.waitForURL(`${origin}/spa/bye**`), p.evaluate(() => window.logout()).catch(() => {})]);
  const dead = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token, client_id: 'spa-ts' }),
  });
  assert.equal(dead.status, 400, await dead.text());
  // Signed out at Tessera too: the next sign-in shows the login page.
  await p.goto(`${origin}/spa/`);
  await p.waitForSelector('body[data-ready]');
  await Promise.all([p.waitForURL(`${server.url}/oauth2/authorize?**`), p.click('#signin')]);
  await p.waitForSelector('#login-form');

  assert.deepEqual(problems, []);
  await context.close();
});
