// @tessera/client's hosted sign-in in headless Chromium against a real
// server: an app on its own origin imports the client from Tessera
// (/client/tessera-client.js), calls loginWithRedirect(), the user signs in
// on the hosted page, and handleRedirectCallback() on the app's redirect URI
// checks state and nonce, exchanges the code (PKCE S256), removes the code
// from the address bar and starts the session; then fetch() calls userinfo
// and refresh() rotates through /oauth2/token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { launch, PASSWORD, startTessera } from './harness.js';

let browser;
let server;
let app;
let origin;

function appJs(auth) {
  return `
import { TesseraClient, webStorage } from '${auth}/client/tessera-client.js';
const out = (k, v) => { document.body.dataset[k] = typeof v === 'string' ? v : JSON.stringify(v); };
const t = new TesseraClient({ baseUrl: '${auth}', clientId: 'web', redirectUri: location.origin + '/app/cb',
  storage: webStorage(localStorage) });
try {
  if (location.pathname === '/app/') {
    document.getElementById('go').addEventListener('click', () => t.loginWithRedirect({ scope: 'openid email offline_access' }));
    out('ready', '1');
  } else {
    const r = await t.handleRedirectCallback();
    const info = await (await t.fetch('${auth}/oauth2/userinfo')).json();
    const before = t.accessToken;
    const refreshed = await t.refresh();
    out('result', { claims: r.claims, info, url: location.href, refreshed, rotated: before !== t.accessToken });
    // The same callback again: no sign-in is in progress any more.
    try { await t.handleRedirectCallback(location.origin + '/app/cb?code=x&state=y'); out('replay', 'accepted'); }
    catch (e) { out('replay', e.code); }
  }
} catch (e) {
  out('error', String(e && (e.description || e.message) || e));
}
`;
}

before(async () => {
  browser = await launch();
  let auth = '';
  app = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const csp = `default-src 'none'; script-src 'self' ${auth}; connect-src ${auth}; form-action 'none'; frame-ancestors 'none'`;
    const send = (type, body) => {
      res.writeHead(200, { 'content-type': type, 'content-security-policy': csp });
      res.end(body);
    };
    if (path === '/app/app.js') return send('text/javascript', appJs(auth));
    if (path === '/app/' || path === '/app/cb') {
      return send('text/html; charset=utf-8', '<!doctype html><title>app</title><script type="module" src="/app/app.js"></script><button id="go">Sign in</button>');
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${app.address().port}`;
  server = await startTessera({ env: { TESSERA_CORS_ORIGINS: origin } });
  auth = server.url;
  execFileSync(
    server.bin,
    ['clients', 'create', '--id', 'web', '--public', '--first-party', '--grant', 'authorization_code', '--grant', 'refresh_token', '--redirect-uri', `${origin}/app/cb`],
    { env: server.env, cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The demo's "Sign in with the hosted page" uses the public client `demo`.
  execFileSync(
    server.bin,
    ['clients', 'create', '--id', 'demo', '--public', '--first-party', '--grant', 'authorization_code', '--grant', 'refresh_token', '--redirect-uri', `${server.url}/demo`],
    { env: server.env, cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
});

after(async () => {
  await browser?.close();
  await server?.stop();
  app?.close();
});

test('@tessera/client: loginWithRedirect and handleRedirectCallback through the hosted page', async () => {
  const email = `client-${Date.now()}@example.com`;
  const reg = await fetch(`${server.url}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(reg.status, 201);
  const context = await browser.newContext();
  const p = await context.newPage();
  const problems = [];
  p.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(String(e)));
  await p.goto(`${origin}/app/`);
  await p.waitForSelector('body[data-ready]');
  await Promise.all([p.waitForURL(`${server.url}/oauth2/authorize?**`), p.click('#go')]);
  const asked = new URL(p.url()).searchParams;
  assert.equal(asked.get('code_challenge_method'), 'S256');
  assert.ok(asked.get('nonce') && asked.get('state'));
  await p.fill('#email', email);
  await p.fill('#password', PASSWORD);
  await Promise.all([p.waitForURL(`${origin}/app/cb?**`), p.click('#submit')]);
  await p.waitForSelector('body[data-replay], body[data-error]');
  assert.equal(await p.getAttribute('body', 'data-error'), null, await p.getAttribute('body', 'data-error'));
  const result = JSON.parse(await p.getAttribute('body', 'data-result'));
  assert.equal(result.claims.nonce, asked.get('nonce'));
  assert.equal(result.claims.aud, 'web');
  assert.equal(result.info.email, email);
  assert.equal(result.url, `${origin}/app/cb`, 'the code is gone from the address bar');
  assert.equal(result.refreshed, true);
  assert.equal(result.rotated, true);
  assert.equal(await p.getAttribute('body', 'data-replay'), 'invalid_callback');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the demo signs in with the hosted page, calls /v1/me, refreshes and logs out', async () => {
  const email = `demo-hosted-${Date.now()}@example.com`;
  const reg = await fetch(`${server.url}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(reg.status, 201);
  const context = await browser.newContext();
  const p = await context.newPage();
  const problems = [];
  p.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(String(e)));
  await p.goto(`${server.url}/demo`);
  await p.waitForSelector('html[data-ready="true"]');
  await Promise.all([p.waitForURL(`${server.url}/oauth2/authorize?**`), p.click('#hosted')]);
  await p.fill('#email', email);
  await p.fill('#password', PASSWORD);
  await Promise.all([p.waitForURL(`${server.url}/demo?**`), p.click('#submit')]);
  await p.waitForSelector('#status[data-state="active"]');
  assert.match(await p.textContent('#status'), new RegExp(email.replace(/[.]/g, '\\.')));
  assert.equal(new URL(p.url()).search, '', 'the code is gone from the address bar');
  await p.click('#me');
  await p.waitForSelector('#me-result[data-status]');
  assert.equal(await p.getAttribute('#me-result', 'data-status'), '200', await p.textContent('#me-result'));
  assert.match(await p.textContent('#me-result'), new RegExp(email.replace(/[.]/g, '\\.')));
  await p.click('#refresh');
  await p.waitForSelector('#log li[data-kind="tokens"]');
  await p.click('#logout');
  await p.waitForSelector('#status[data-state="none"]');
  assert.deepEqual(problems, []);
  await context.close();
});
