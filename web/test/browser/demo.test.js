// The demo's whole flow in a real browser against a real server with short
// access tokens: login, /v1/me, expiry into a 401, refresh and retry, theft
// and revocation, logout; in bearer and in cookie mode. Then two tabs
// refreshing at once through @tessera/client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, mainServer, recordRequests, screenshotDir, sleep, TTL } from './harness.js';

let browser;
let server;

before(async () => {
  browser = await launch();
  server = await mainServer();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The app's requests in the demo log, in order: "GET /v1/me 401"… */
async function logRequests(p) {
  return p.$$eval('#log li[data-actor]', (els) => els.map((e) => `${e.dataset.method ?? ''} ${e.dataset.path} ${e.dataset.status} ${e.dataset.actor}`.trim()));
}

async function waitForLog(p, expected, from = 0) {
  await p.waitForFunction(
    ([want, start]) => {
      const got = [...document.querySelectorAll('#log li[data-actor]')]
        .slice(start)
        .map((e) => `${e.dataset.method ?? ''} ${e.dataset.path} ${e.dataset.status} ${e.dataset.actor}`.trim());
      return want.every((w, i) => got[i] === w);
    },
    [expected, from],
    { timeout: 15_000 },
  ).catch(async (e) => {
    throw new Error(`log: ${JSON.stringify((await logRequests(p)).slice(from))}, wanted ${JSON.stringify(expected)}: ${e.message}`);
  });
}

async function openDemo(context) {
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e));
  await p.goto(`${server.url}/demo`);
  await p.waitForSelector('html[data-ready="true"]');
  return { p, errors };
}

async function registerAndLogin(p) {
  await p.click('#register');
  await p.waitForSelector('#log li[data-kind="registered"]');
  await p.click('#login');
  await p.waitForSelector('#status[data-state="active"]');
}

async function waitExpired(p) {
  await p.waitForSelector('#ttl-text[data-state="expired"]', { timeout: (TTL + 5) * 1000 });
  // The local estimate errs early by design; the server counts whole seconds.
  await sleep(1100);
}

test('bearer mode: login, /v1/me, expiry into a 401, refresh and retry, theft revokes the session', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
  const requests = recordRequests(context);
  try {
    const { p, errors } = await openDemo(context);
    await registerAndLogin(p);
    let n = (await logRequests(p)).length;
    await p.click('#me');
    await waitForLog(p, ['GET /v1/me 200 app'], n);
    assert.match(await p.textContent('#me-result'), /"email": "demo-/);
    // The counter repaints on a timer, which a busy machine can delay: wait for it.
    await p.waitForSelector('#ttl-text[data-state="live"]', { timeout: 2000 });
    assert.match(await p.textContent('#ttl-text'), /expires in/);

    // The access token runs out: the call gets a 401, the client refreshes and retries.
    await waitExpired(p);
    n = (await logRequests(p)).length;
    await p.click('#me');
    await waitForLog(p, ['GET /v1/me 401 app', 'POST /v1/auth/refresh 200 app', 'GET /v1/me 200 app'], n);
    assert.equal(await p.getAttribute('#me-result', 'data-status'), '200');
    await p.waitForSelector('#ttl-text[data-state="live"]', { timeout: 2000 });

    // Theft: a spent refresh token comes back; the session is revoked and the app ends it cleanly.
    n = (await logRequests(p)).length;
    await p.click('#theft');
    await p.waitForSelector('#status[data-state="ended"]');
    const theft = (await logRequests(p)).slice(n);
    const attack = theft.indexOf('POST /v1/auth/refresh 401 attacker');
    assert.ok(attack >= 0, `the thief was refused: ${theft}`);
    assert.deepEqual(theft.slice(attack + 1), ['GET /v1/me 401 app', 'POST /v1/auth/refresh 401 app']);
    assert.ok(theft.slice(0, attack).every((l) => l === 'POST /v1/auth/refresh 200 app'), `${theft}`);
    await p.waitForSelector('#log li[data-kind="ended"][data-reason="refresh_rejected"]');
    assert.match(await p.textContent('#log li[data-actor="attacker"]'), /401 invalid_grant: .*session has been revoked/);
    assert.match(await p.textContent('#status'), /Session ended: the server refused the refresh/);
    await p.screenshot({ path: join(screenshotDir(), 'demo.png'), fullPage: true });

    // No loop: nothing more happens by itself, and another call does not refresh.
    const settled = (await logRequests(p)).length;
    await sleep(1500);
    assert.equal((await logRequests(p)).length, settled);
    await p.click('#me');
    await waitForLog(p, ['GET /v1/me 401 app'], settled);
    await sleep(500);
    assert.equal((await logRequests(p)).length, settled + 1, 'no refresh after the session ended');
    assert.equal(await p.locator('#log li[data-kind="ended"]').count(), 1, 'onSessionEnded fired once');
    assert.equal(await p.isDisabled('#theft'), true);

    // Log in again and log out.
    await p.click('#login');
    await p.waitForSelector('#status[data-state="active"]');
    await p.click('#logout');
    await p.waitForSelector('#status[data-state="none"]');
    assert.match(await p.textContent('#status'), /Logged out/);
    const all = await requests.all();
    const logout = all.filter((r) => r.url.endsWith('/v1/auth/logout'));
    assert.equal(logout.length, 1);
    assert.match(logout[0].body, /"refresh_token":"tsr_/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('bearer mode, refreshing ahead of expiry: no 401 at all', async () => {
  const context = await browser.newContext();
  try {
    const { p, errors } = await openDemo(context);
    await p.check('#proactive');
    await registerAndLogin(p);
    const n = (await logRequests(p)).length;
    // Margin: min(2 s, half the lifetime); wait until inside it.
    await p.waitForFunction(() => /expires in (\d+(\.\d+)?) s/.test(document.querySelector('#ttl-text').textContent)
      && Number(document.querySelector('#ttl-text').textContent.match(/expires in ([\d.]+)/)[1]) < 1.5, null, { timeout: 15_000 });
    await p.click('#me');
    await waitForLog(p, ['POST /v1/auth/refresh 200 app', 'GET /v1/me 200 app'], n);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('cookie mode: the refresh token stays in an HttpOnly cookie; expiry, refresh with the CSRF header, logout', async () => {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  try {
    const { p, errors } = await openDemo(context);
    await p.check('input[name="mode"][value="cookie"]');
    await p.waitForSelector('#log li[data-kind="mode"]');
    assert.equal(await p.isDisabled('#theft'), true, 'nothing to steal in cookie mode');
    assert.match(await p.textContent('#theft-note'), /HttpOnly/);
    const loginAnswer = p.waitForResponse((r) => r.url().endsWith('/v1/auth/login'));
    await registerAndLogin(p);
    const login = await (await loginAnswer).json();
    assert.equal(login.refresh_token, undefined, 'no refresh token in the JSON');
    const cookies = await context.cookies();
    const jar = cookies.find((c) => c.name === 'tessera_refresh');
    assert.ok(jar, 'the refresh cookie is set');
    assert.equal(jar.httpOnly, true);
    assert.equal(jar.sameSite, 'Strict');
    assert.equal(await p.evaluate(() => document.cookie), '', 'scripts cannot read it');

    await waitExpired(p);
    const n = (await logRequests(p)).length;
    await p.click('#me');
    await waitForLog(p, ['GET /v1/me 401 app', 'POST /v1/auth/refresh 200 app', 'GET /v1/me 200 app'], n);
    const refresh = (await requests.all()).filter((r) => r.url.endsWith('/v1/auth/refresh'));
    assert.equal(refresh.length, 1);
    assert.equal(refresh[0].headers['x-tessera-csrf'], '1');
    assert.equal(refresh[0].body, '');
    assert.match(refresh[0].headers.cookie ?? '', /tessera_refresh=tsr_/);
    const rotated = (await context.cookies()).find((c) => c.name === 'tessera_refresh');
    assert.notEqual(rotated.value, jar.value, 'the cookie rotated');

    await p.click('#logout');
    await p.waitForSelector('#status[data-state="none"]');
    const left = (await context.cookies()).find((c) => c.name === 'tessera_refresh');
    assert.ok(!left || left.value === '', 'the cookie is cleared');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('two tabs refresh at once: one refresh, both get the token, the session survives', async () => {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  try {
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const p of [a, b]) {
      await p.goto(`${server.url}/demo`);
      await p.waitForSelector('html[data-ready="true"]');
      await p.evaluate(async () => {
        const { TesseraClient } = await import('/client/tessera-client.js');
        window.ended = [];
        window.client = new TesseraClient({ mode: 'cookie', proactive: true, refreshMargin: 1, onSessionEnded: (i) => window.ended.push(i) });
        window.hasLocks = Boolean(navigator.locks);
      });
    }
    assert.equal(await a.evaluate(() => window.hasLocks), true, 'Chromium offers Web Locks here');
    const email = `tabs-${Date.now()}@example.com`;
    await a.evaluate(async (e) => {
      await window.client.register(e, 'correct horse battery staple');
      await window.client.login(e, 'correct horse battery staple');
    }, email);
    // Tab b receives the session from tab a.
    await b.waitForFunction(() => window.client.accessToken !== null);
    assert.equal(await b.evaluate(() => window.client.accessToken), await a.evaluate(() => window.client.accessToken));

    // Make each refresh take a while, so the two tabs surely overlap.
    await context.route('**/v1/auth/refresh', async (route) => {
      await sleep(400);
      await route.continue();
    });
    await sleep(TTL * 1000 + 200);
    const before = (await requests.all()).filter((r) => r.url.endsWith('/v1/auth/refresh')).length;
    const statuses = await Promise.all([a, b].map((p) => p.evaluate(async () => (await window.client.fetch('/v1/me')).status)));
    assert.deepEqual(statuses, [200, 200]);
    const refreshes = (await requests.all()).filter((r) => r.url.endsWith('/v1/auth/refresh')).length - before;
    assert.equal(refreshes, 1, 'one tab refreshed, the other received the result');
    const [ta, tb] = await Promise.all([a, b].map((p) => p.evaluate(() => window.client.accessToken)));
    assert.equal(ta, tb);

    // The session survives: more refreshes from either tab work.
    await context.unroute('**/v1/auth/refresh');
    assert.equal(await b.evaluate(() => window.client.refresh()), true);
    assert.equal(await a.evaluate(() => window.client.refresh()), true);
    const again = await Promise.all([a, b].map((p) => p.evaluate(async () => (await window.client.fetch('/v1/me')).status)));
    assert.deepEqual(again, [200, 200]);
    const ended = await Promise.all([a, b].map((p) => p.evaluate(() => window.ended.length)));
    assert.deepEqual(ended, [0, 0]);
  } finally {
    await context.close();
  }
});
