// The demo in DPoP mode (RFC 9449) in a real browser against a real server:
// login binds the tokens to a non-extractable key kept in IndexedDB; a
// second tab and a reload pick the session up and refresh single-flight;
// the theft simulation's stolen access and refresh tokens are refused.
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

async function logRequests(p) {
  return p.$$eval('#log li[data-actor]', (els) =>
    els.map((e) => `${e.dataset.method ?? ''} ${e.dataset.path} ${e.dataset.status} ${e.dataset.actor}`.trim()),
  );
}

async function waitForLog(p, expected, from = 0) {
  await p
    .waitForFunction(
      ([want, start]) => {
        const got = [...document.querySelectorAll('#log li[data-actor]')]
          .slice(start)
          .map((e) => `${e.dataset.method ?? ''} ${e.dataset.path} ${e.dataset.status} ${e.dataset.actor}`.trim());
        return want.every((w, i) => got[i] === w);
      },
      [expected, from],
      { timeout: 15_000 },
    )
    .catch(async (e) => {
      throw new Error(`log: ${JSON.stringify((await logRequests(p)).slice(from))}, wanted ${JSON.stringify(expected)}: ${e.message}`);
    });
}

async function open(context) {
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e));
  p.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(new Error(m.text()));
  });
  await p.goto(`${server.url}/demo`);
  await p.waitForSelector('html[data-ready="true"]');
  return { p, errors };
}

const dec = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

test('DPoP mode: bound tokens, a second tab and a reload share the session, stolen tokens are refused', async () => {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  try {
    const { p: a, errors: ea } = await open(context);
    await a.check('#dpop');
    await a.waitForSelector('#log li[data-kind="mode"]');
    await a.click('#register');
    await a.waitForSelector('#log li[data-kind="registered"]');
    await a.click('#login');
    await a.waitForSelector('#status[data-state="active"]');
    assert.match(await a.textContent('#log li[data-kind="login"]'), /DPoP-bound to key .* cannot be exported/);

    // The login carried a proof, and the access token is bound to its key.
    const login = (await requests.all()).find((r) => r.url.endsWith('/v1/auth/login'));
    const proof = login.headers.dpop.split('.');
    const header = dec(proof[0]);
    assert.equal(header.typ, 'dpop+jwt');
    assert.equal(header.alg, 'ES256');
    assert.deepEqual(Object.keys(header.jwk).sort(), ['crv', 'kty', 'x', 'y'], 'no private part');
    assert.equal(dec(proof[1]).htu, `${server.url}/v1/auth/login`);
    const access = await a.evaluate(async () => {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open('tessera-dpop');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const pair = await new Promise((res) => {
        const g = db.transaction('keys').objectStore('keys').getAll();
        g.onsuccess = () => res(g.result[0]);
      });
      let exported = 'exported';
      try {
        await crypto.subtle.exportKey('jwk', pair.privateKey);
      } catch {
        exported = 'refused';
      }
      return { extractable: pair.privateKey.extractable, exported };
    });
    assert.deepEqual(access, { extractable: false, exported: 'refused' }, 'the key in IndexedDB cannot be read out');

    let n = (await logRequests(a)).length;
    await a.click('#me');
    await waitForLog(a, ['GET /v1/me 200 app'], n);
    const me = (await requests.all()).filter((r) => r.url.endsWith('/v1/me')).at(-1);
    assert.match(me.headers.authorization, /^DPoP /);
    assert.ok(dec(me.headers.dpop.split('.')[1]).ath, 'the proof names the access token');

    // A second tab picks the session up: the stored refresh token, a proof
    // from the same key in IndexedDB.
    const { p: b, errors: eb } = await open(context);
    await b.waitForSelector('#status[data-state="active"]');
    assert.equal(await b.isChecked('#dpop'), true);
    await b.waitForSelector('#log li[data-kind="resumed"]');
    const jkts = new Set(
      (await requests.all())
        .filter((r) => r.headers.dpop)
        .map((r) => JSON.stringify(dec(r.headers.dpop.split('.')[0]).jwk)),
    );
    assert.equal(jkts.size, 1, 'both tabs sign with the one key');

    // Both tokens run out; both tabs call at once: one refresh between them.
    await context.route('**/v1/auth/refresh', async (route) => {
      await sleep(300);
      await route.continue();
    });
    await sleep(TTL * 1000 + 1200);
    const before = (await requests.all()).filter((r) => r.url.endsWith('/v1/auth/refresh')).length;
    const [na, nb] = [(await logRequests(a)).length, (await logRequests(b)).length];
    await Promise.all([a.click('#me'), b.click('#me')]);
    await a.waitForFunction((s) => document.querySelectorAll('#log li[data-actor]').length > s && document.querySelector('#me-result').dataset.status === '200', na);
    await b.waitForFunction((s) => document.querySelectorAll('#log li[data-actor]').length > s && document.querySelector('#me-result').dataset.status === '200', nb);
    await context.unroute('**/v1/auth/refresh');
    const refreshes = (await requests.all()).filter((r) => r.url.endsWith('/v1/auth/refresh')).length - before;
    assert.equal(refreshes, 1, 'single flight across the tabs');

    // A reload keeps the session.
    await b.reload();
    await b.waitForSelector('html[data-ready="true"]');
    await b.waitForSelector('#status[data-state="active"]');
    n = (await logRequests(b)).length;
    await b.click('#me');
    await waitForLog(b, ['GET /v1/me 200 app'], n);

    // Theft: the thief has both tokens but not the key.
    n = (await logRequests(a)).length;
    await a.click('#theft');
    await a.waitForSelector('#status[data-state="ended"]');
    const theft = (await logRequests(a)).slice(n);
    const attacks = theft.filter((l) => l.endsWith('attacker'));
    assert.equal(attacks.length, 3, `${theft}`);
    assert.equal(attacks[0], 'GET /v1/me 401 attacker', 'the access token as Bearer');
    assert.equal(attacks[1], 'GET /v1/me 401 attacker', 'the access token with a proof from another key');
    assert.match(attacks[2], /^POST \/v1\/auth\/refresh 4\d\d attacker$/, 'the refresh token with another key');
    const after = theft.slice(theft.indexOf(attacks[2]) + 1);
    assert.deepEqual(after.slice(0, 1), ['GET /v1/me 401 app'], `${theft}`);
    assert.ok(after.every((l) => !/ 200 app$/.test(l)), `the session is over: ${theft}`);
    await a.screenshot({ path: join(screenshotDir(), 'demo-dpop.png'), fullPage: true });
    assert.deepEqual([...ea, ...eb], []);
  } finally {
    await context.close();
  }
});
