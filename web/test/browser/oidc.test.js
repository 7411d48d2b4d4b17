// The hosted OpenID Connect sign-in in headless Chromium against a real
// `tessera serve`: a client's authorization request → the hosted login page
// → (consent for a client that is not first-party) → the redirect back with
// a code, state and iss, observed by a tiny local HTTP listener standing in
// for the client; with and without JavaScript. Then single sign-on (a second
// client completes without a password), the code exchange with PKCE, and
// RP-initiated logout (confirmation form, then signed out everywhere).
// Every page is checked for CSP violations and script errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { launch, PASSWORD, startTessera } from './harness.js';

let browser;
let server;
let listener;
let cb; // the listener's base URL
const seen = []; // every request the listener got

const b64url = (buf) => buf.toString('base64url');

before(async () => {
  browser = await launch();
  server = await startTessera({});
  listener = createServer((req, res) => {
    seen.push(req.url);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
    });
    res.end('<!doctype html><title>client</title><p id="client">back at the client</p>');
  });
  await new Promise((r) => listener.listen(0, '127.0.0.1', r));
  cb = `http://127.0.0.1:${listener.address().port}`;
  for (const [id, extra] of [
    ['spa', ['--first-party']],
    ['other', []],
  ]) {
    execFileSync(
      server.bin,
      [
        'clients', 'create', '--id', id, '--public', '--grant', 'authorization_code', '--grant', 'refresh_token',
        '--redirect-uri', `${cb}/${id}/cb`, '--post-logout-redirect-uri', `${cb}/${id}/bye`,
        ...extra,
      ],
      { env: server.env, cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  listener?.close();
});

async function register(email) {
  const res = await fetch(`${server.url}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(res.status, 201, await res.text());
}

function pkce() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

function authorizeUrl(client, { challenge, state, nonce, prompt }) {
  const u = new URL(`${server.url}/oauth2/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: client,
    redirect_uri: `${cb}/${client}/cb`,
    scope: 'openid email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(prompt ? { prompt } : {}),
  }).toString();
  return u.toString();
}

/** A page that records CSP violations (the console reports them even without JavaScript) and script errors. */
async function watchedPage(context) {
  const p = await context.newPage();
  const problems = [];
  p.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(String(e)));
  return { p, problems };
}

async function exchange(client, code, verifier) {
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${cb}/${client}/cb`,
      client_id: client,
      code_verifier: verifier,
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

for (const javaScriptEnabled of [true, false]) {
  test(`hosted login, SSO, consent and logout (${javaScriptEnabled ? 'with' : 'without'} JavaScript)`, async () => {
    const email = `oidc-${javaScriptEnabled}-${Date.now()}@example.com`;
    await register(email);
    const context = await browser.newContext({ javaScriptEnabled });
    const { p, problems } = await watchedPage(context);

    // 1. The first-party client: the login page, a wrong password, then the right one.
    const one = pkce();
    await p.goto(authorizeUrl('spa', { challenge: one.challenge, state: 's-1', nonce: 'n-1' }));
    await p.waitForSelector('#login-form');
    assert.match(await p.textContent('#client'), /spa/);
    assert.ok(await p.$('a#forgot[href="/account/forgot"]'));
    await p.fill('#email', email);
    await p.fill('#password', 'not the password');
    await Promise.all([p.waitForNavigation(), p.click('#submit')]);
    assert.match(await p.textContent('#error'), /not correct/);
    assert.equal(await p.inputValue('#email'), email);
    await p.fill('#password', PASSWORD);
    await Promise.all([p.waitForURL(`${cb}/spa/cb?**`), p.click('#submit')]);
    const back = new URL(p.url());
    assert.equal(back.searchParams.get('state'), 's-1');
    assert.equal(back.searchParams.get('iss'), server.url);
    const tokens = await exchange('spa', back.searchParams.get('code'), one.verifier);
    assert.equal(claims(tokens.id_token).nonce, 'n-1');
    assert.equal(claims(tokens.id_token).aud, 'spa');
    const cookies = await context.cookies(server.url);
    const sso = cookies.find((c) => c.name === 'tessera_sso');
    assert.ok(sso, JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(sso.httpOnly, true);
    assert.equal(sso.sameSite, 'Lax');

    // 2. The other client (not first-party): no password (SSO), but consent.
    const two = pkce();
    await p.goto(authorizeUrl('other', { challenge: two.challenge, state: 's-2', nonce: 'n-2' }));
    await p.waitForSelector('#consent-form');
    const scopes = await p.$$eval('#scopes li', (els) => els.map((e) => e.dataset.scope));
    assert.ok(scopes.includes('email'), JSON.stringify(scopes));
    await Promise.all([p.waitForURL(`${cb}/other/cb?**`), p.click('#allow')]);
    const back2 = new URL(p.url());
    assert.equal(back2.searchParams.get('state'), 's-2');
    const tokens2 = await exchange('other', back2.searchParams.get('code'), two.verifier);
    assert.ok(tokens2.access_token);
    assert.equal(claims(tokens2.id_token).aud, 'other');

    // 3. Remembered consent: straight back with a code.
    const three = pkce();
    await p.goto(authorizeUrl('other', { challenge: three.challenge, state: 's-3', nonce: 'n-3' }));
    await p.waitForURL(`${cb}/other/cb?**`);
    assert.equal(new URL(p.url()).searchParams.get('state'), 's-3');

    // 4. Logout without a hint: a confirmation, then back to the client with its state.
    const bye = new URL(`${server.url}/oauth2/logout`);
    bye.search = new URLSearchParams({ client_id: 'spa', post_logout_redirect_uri: `${cb}/spa/bye`, state: 'bye-1' });
    await p.goto(bye.toString());
    await p.waitForSelector('#logout-form');
    await Promise.all([p.waitForURL(`${cb}/spa/bye?**`), p.click('#confirm')]);
    assert.equal(new URL(p.url()).searchParams.get('state'), 'bye-1');
    assert.ok(!(await context.cookies(server.url)).some((c) => c.name === 'tessera_sso'));

    // 5. Signed out: prompt=none says login_required; a request shows the login page again.
    const four = pkce();
    await p.goto(authorizeUrl('spa', { challenge: four.challenge, state: 's-4', nonce: 'n-4', prompt: 'none' }));
    await p.waitForURL(`${cb}/spa/cb?**`);
    assert.equal(new URL(p.url()).searchParams.get('error'), 'login_required');
    assert.equal(new URL(p.url()).searchParams.get('state'), 's-4');
    await p.goto(authorizeUrl('other', { challenge: four.challenge, state: 's-5', nonce: 'n-5' }));
    await p.waitForSelector('#login-form');

    // Both clients' sessions are over: logout ends the SSO session and the
    // client sessions it signed in.
    for (const [client, t] of [['spa', tokens], ['other', tokens2]]) {
      assert.ok(t.refresh_token, 'the client allows refresh tokens');
      const res = await fetch(`${server.url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: client }),
      });
      assert.equal(res.status, 400, `${client}: ${await res.text()}`);
    }

    assert.deepEqual(problems, []);
    await context.close();
  });
}
