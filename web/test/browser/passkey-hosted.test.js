// The hosted sign-in page's "Sign in with a passkey" in headless Chromium
// with the DevTools virtual authenticator: an OpenID Connect client's
// authorization request -> the hosted login page -> the passkey button (the
// page's external script runs the WebAuthn prompt) -> the redirect back
// with a code, whose ID token says how the user signed in (amr); and the
// second step of a password sign-in answered with "Use a passkey". Without
// JavaScript the passkey form stays hidden and the password form is there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { launch, PASSWORD, startTessera, userTokens } from './harness.js';

let browser;
let server;
let listener;
let cb;

before(async () => {
  browser = await launch();
  server = await startTessera({ localhost: true });
  listener = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
    res.end('<!doctype html><title>client</title><p id="client">back at the client</p>');
  });
  await new Promise((r) => listener.listen(0, '127.0.0.1', r));
  cb = `http://127.0.0.1:${listener.address().port}`;
  execFileSync(
    server.bin,
    ['clients', 'create', '--id', 'spa', '--public', '--first-party', '--grant', 'authorization_code', '--redirect-uri', `${cb}/spa/cb`],
    { env: server.env, cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
});

after(async () => {
  await browser?.close();
  await server?.stop();
  listener?.close();
});

function authorizeUrl(challenge) {
  const u = new URL(`${server.origin}/oauth2/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: 'spa',
    redirect_uri: `${cb}/spa/cb`,
    scope: 'openid',
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return u.toString();
}

test('hosted login: sign in with a passkey, and the page without JavaScript', async () => {
  const context = await browser.newContext();
  try {
    const p = await context.newPage();
    const problems = [];
    p.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    p.on('pageerror', (e) => problems.push(String(e)));
    await p.goto(`${server.origin}/demo`);
    const cdp = await context.newCDPSession(p);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    const tokens = await userTokens(server.url);
    const sub = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString()).sub;
    await p.evaluate(async (t) => {
      const m = await import('/client/passkey.js');
      await m.registerPasskey({ accessToken: t });
    }, tokens.access_token);

    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    await p.goto(authorizeUrl(challenge));
    await p.waitForSelector('html[data-passkey-ready="true"]');
    await p.waitForSelector('#passkey', { state: 'visible' });
    assert.equal(await p.textContent('#passkey'), 'Sign in with a passkey');
    await Promise.all([p.waitForURL(`${cb}/spa/cb**`), p.click('#passkey')]);
    const back = new URL(p.url());
    assert.equal(back.searchParams.get('state'), 'st-1');
    const code = back.searchParams.get('code');
    assert.ok(code);

    const res = await fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${cb}/spa/cb`, client_id: 'spa', code_verifier: verifier }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const id = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
    assert.equal(id.sub, sub);
    assert.ok(Array.isArray(id.amr) && id.amr.includes('mfa') && (id.amr.includes('hwk') || id.amr.includes('swk')), JSON.stringify(id.amr));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }

  // The second step: a password sign-in of an account with a passkey asks
  // for a factor; "Use a passkey" answers it.
  const mfa = await browser.newContext();
  try {
    const p = await mfa.newPage();
    const problems = [];
    p.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    p.on('pageerror', (e) => problems.push(String(e)));
    await p.goto(`${server.origin}/demo`);
    const cdp = await mfa.newCDPSession(p);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    const email = `hosted-mfa-${Date.now()}@example.com`;
    const tokens = await userTokens(server.url, email);
    await p.evaluate(async (t) => {
      const m = await import('/client/passkey.js');
      await m.registerPasskey({ accessToken: t });
    }, tokens.access_token);
    const verifier = randomBytes(32).toString('base64url');
    await p.goto(authorizeUrl(createHash('sha256').update(verifier).digest('base64url')));
    await p.fill('#email', email);
    await p.fill('#password', PASSWORD);
    await Promise.all([p.waitForNavigation(), p.click('#submit')]);
    await p.waitForSelector('#mfa-form');
    await p.waitForSelector('#mfa-passkey', { state: 'visible' });
    await p.click('#mfa-passkey');
    await p.waitForURL(`${cb}/spa/cb**`, { timeout: 5000 }).catch(async () => {
      throw new Error(`still at ${p.url()}: ${await p.textContent('body')}`);
    });
    const code = new URL(p.url()).searchParams.get('code');
    const res = await fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${cb}/spa/cb`, client_id: 'spa', code_verifier: verifier }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const id = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
    assert.equal(id.amr[0], 'pwd');
    assert.ok(['hwk', 'swk'].includes(id.amr[1]), JSON.stringify(id.amr));
    assert.equal(id.amr[2], 'mfa');
    assert.deepEqual(problems, []);
  } finally {
    await mfa.close();
  }

  // Without JavaScript: no passkey form, the password form as before.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  try {
    const p = await noJs.newPage();
    await p.goto(authorizeUrl('x'.repeat(43)));
    await p.waitForSelector('#login-form');
    assert.equal(await p.isVisible('#passkey'), false);
    assert.equal(await p.isVisible('#password'), true);
  } finally {
    await noJs.close();
  }
});
