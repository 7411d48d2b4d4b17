// The debugger in a real browser against real servers: it decodes and
// verifies every algorithm Tessera issues (against the live JWKS, a pasted
// JWK and a PEM key), HS tokens with their secret, shows tampering, warns,
// works on a phone-sized screen, and never sends the token anywhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { join } from 'node:path';
import { launch, recordRequests, screenshotDir, startTessera, userTokens } from './harness.js';

const SERVER_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'];
const servers = {};
let browser;

before(async () => {
  browser = await launch();
  // One real server per signing algorithm, with ten-minute access tokens so
  // that "expires in" holds however slow the machine is.
  for (const alg of SERVER_ALGS) servers[alg] = await startTessera({ alg, ttl: 600 });
});

after(async () => {
  await browser?.close();
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function tamper(token) {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.roles = ['admin'];
  return `${h}.${b64(claims)}.${s}`;
}

function hsToken(alg, secret, claims, header = {}) {
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64(claims)}`;
  const sig = crypto.createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}

/** A fresh page whose every request is recorded. */
async function page(url, { viewport } = {}) {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const requests = recordRequests(context);
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e));
  p.on('console', (m) => {
    if (m.type() === 'error') errors.push(new Error(m.text()));
  });
  return { context, page: p, requests, errors, url };
}

async function verdict(p, state) {
  await p.waitForSelector(`#verdict[data-state="${state}"]`, { timeout: 10_000 });
  return p.textContent('#verdict');
}

async function paste(p, token) {
  await p.fill('#token', token);
}

/** Presses Tab until `selector` has the focus. */
async function tabTo(p, selector, max = 20) {
  for (let i = 0; i < max; i++) {
    await p.keyboard.press('Tab');
    if (await p.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
  }
  throw new Error(`${selector} cannot be reached with Tab`);
}

/** No recorded request carries the token or any of its three parts. */
function assertNoLeak(requests, tokens) {
  const needles = new Set();
  for (const t of tokens) {
    needles.add(t);
    for (const part of t.split('.')) if (part.length >= 8) needles.add(part);
  }
  assert.ok(requests.length > 0, 'requests were recorded');
  for (const r of requests) {
    const haystacks = [r.url, decodeURIComponent(r.url), r.body, ...Object.values(r.headers)];
    for (const n of needles) {
      for (const h of haystacks) {
        assert.ok(!h.includes(n), `a request carried the token: ${r.method} ${r.url}`);
      }
    }
  }
}

for (const alg of SERVER_ALGS) {
  test(`${alg}: a server-issued token decodes and verifies against the server's JWKS, a pasted JWK and a PEM key`, async () => {
    const server = servers[alg];
    const tokens = await userTokens(server.url);
    const token = tokens.access_token;
    const { context, page: p, requests, errors } = await page(server.url);
    try {
      // Opened as /debugger#<jwt>: the fragment never reaches the server.
      await p.goto(`${server.url}/debugger#${token}`);
      assert.match(await verdict(p, 'valid'), new RegExp(`Signature verified \\(${alg}`));
      assert.equal(await p.textContent('#alg'), alg);
      assert.equal(await p.textContent('#typ'), 'at+jwt');
      const header = JSON.parse(await p.textContent('#header'));
      assert.equal(header.alg, alg);
      const payload = JSON.parse(await p.textContent('#payload'));
      assert.equal(payload.iss, server.url);
      assert.equal(payload.aud, 'tessera');
      assert.equal(await p.getAttribute('#times tr[data-claim="exp"]', 'data-state'), 'valid');
      assert.match(await p.textContent('#times tr[data-claim="exp"]'), /expires in/);
      assert.equal(await p.getAttribute('#times tr[data-claim="iat"]', 'data-state'), 'issued');
      assert.equal(await p.evaluate(() => location.hash), '', 'the token is taken out of the address bar');
      // Coloured parts.
      assert.equal(await p.textContent('#enc-header'), token.split('.')[0]);
      assert.equal(await p.textContent('#enc-signature'), token.split('.')[2]);

      // Tampered: invalid.
      const bad = tamper(token);
      await paste(p, bad);
      assert.match(await verdict(p, 'invalid'), /Invalid signature/);

      // A pasted JWK (the server's, fetched here in Node) and a PEM key.
      const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      assert.ok(jwk, 'the token names a published key');
      await paste(p, token);
      await p.check('input[name="source"][value="key"]');
      await p.fill('#key', JSON.stringify(jwk));
      assert.match(await verdict(p, 'valid'), /Signature verified/);
      await paste(p, bad);
      await verdict(p, 'invalid');
      const pem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      await paste(p, token);
      await p.fill('#key', pem);
      assert.match(await verdict(p, 'valid'), /PEM public key/);
      await paste(p, bad);
      await verdict(p, 'invalid');
      // A JWKS pasted whole.
      await paste(p, token);
      await p.fill('#key', JSON.stringify(jwks));
      await verdict(p, 'valid');

      assertNoLeak(await requests.all(), [token, bad, tokens.refresh_token]);
      const paths = (await requests.all()).map((r) => new URL(r.url).pathname);
      assert.ok(paths.includes('/.well-known/jwks.json'), 'the JWKS was fetched');
      for (const r of await requests.all()) assert.ok(r.url.startsWith(server.url), `only this origin: ${r.url}`);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

for (const alg of ['HS256', 'HS384', 'HS512']) {
  test(`${alg}: verifies with the pasted secret; a wrong secret or a tampered token is invalid`, async () => {
    const now = Math.floor(Date.now() / 1000);
    const secret = crypto.randomBytes(64);
    const token = hsToken(alg, secret, { sub: 'u1', aud: 'api', iat: now, exp: now + 600 });
    const { context, page: p, requests, errors } = await page(servers.ES256.url);
    try {
      await p.goto(`${servers.ES256.url}/debugger`);
      await p.waitForSelector('html[data-ready="true"]');
      await paste(p, token);
      await p.check('input[name="source"][value="secret"]');
      await p.fill('#secret', secret.toString('base64url'));
      await p.check('#secret-encoded');
      assert.match(await verdict(p, 'valid'), new RegExp(`Signature verified \\(${alg}, shared secret`));
      assert.equal(await p.locator('#warnings [data-code="hs-short-secret"]').count(), 0);
      await paste(p, tamper(token));
      await verdict(p, 'invalid');
      await paste(p, token);
      await p.uncheck('#secret-encoded');
      await p.fill('#secret', 'not it');
      await verdict(p, 'invalid');
      // A short secret is flagged.
      const weak = hsToken(alg, 'secret', { sub: 'u1', aud: 'api', exp: now + 600 });
      await paste(p, weak);
      await p.fill('#secret', 'secret');
      await verdict(p, 'valid');
      await p.waitForSelector('#warnings [data-code="hs-short-secret"]');
      assertNoLeak(await requests.all(), [token, weak, secret.toString('base64url')]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('warnings: alg none, a key in the header, a long lifetime, no aud; times: expired and not yet valid', async () => {
  const now = Math.floor(Date.now() / 1000);
  const { context, page: p, errors } = await page(servers.ES256.url);
  try {
    await p.goto(`${servers.ES256.url}/debugger`);
    await p.waitForSelector('html[data-ready="true"]');
    const codes = async () => p.$$eval('#warnings li[data-code]', (els) => els.map((e) => e.dataset.code));

    await paste(p, `${b64({ alg: 'none' })}.${b64({ sub: 'x', aud: 'a', exp: now + 60 })}.`);
    await p.waitForSelector('#warnings [data-code="alg-none"]');
    assert.match(await verdict(p, 'invalid'), /unsigned/);

    await paste(p, `${b64({ alg: 'RS256', jku: 'https://evil.example/keys', jwk: { kty: 'RSA' } })}.${b64({ sub: 'x', iat: now, exp: now + 90 * 86400 })}.c2ln`);
    await p.waitForSelector('#warnings [data-code="header-jku"]');
    const found = await codes();
    for (const c of ['header-jku', 'header-jwk', 'long-lifetime', 'no-aud']) assert.ok(found.includes(c), `${c} in ${found}`);

    await paste(p, `${b64({ alg: 'ES256' })}.${b64({ sub: 'x', aud: 'a', exp: now - 3600, nbf: now + 3600 })}.c2ln`);
    await p.waitForSelector('#times tr[data-claim="exp"][data-state="expired"]');
    assert.match(await p.textContent('#times tr[data-claim="exp"]'), /expired 1 hour ago/);
    assert.equal(await p.getAttribute('#times tr[data-claim="nbf"]', 'data-state'), 'not-yet-valid');

    await paste(p, 'not.a-token');
    await p.waitForSelector('#decode-error:not([hidden])');
    assert.match(await p.textContent('#decode-error'), /three parts/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('accessible and usable on a phone-sized screen, by keyboard', async () => {
  const tokens = await userTokens(servers.ES256.url);
  const { context, page: p, errors } = await page(servers.ES256.url, { viewport: { width: 360, height: 740 } });
  try {
    await p.goto(`${servers.ES256.url}/debugger`);
    await p.waitForSelector('html[data-ready="true"]');
    // Every form control has a label.
    const unlabeled = await p.$$eval('input, textarea, select, button', (els) =>
      els.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map((e) => e.id || e.outerHTML),
    );
    assert.deepEqual(unlabeled, []);
    // Keyboard: tab to the token field and type; tab to the radios and pick with arrows.
    await tabTo(p, '#token');
    await p.keyboard.insertText(tokens.access_token);
    await verdict(p, 'valid');
    await tabTo(p, 'input[name="source"][value="server"]');
    await p.keyboard.press('ArrowDown');
    assert.equal(await p.$eval('input[name="source"]:checked', (e) => e.value), 'key');
    assert.equal(await p.isVisible('#key'), true);
    // Nothing is wider than the screen.
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('screenshot of the debugger', async () => {
  const tokens = await userTokens(servers.ES256.url);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  try {
    const p = await context.newPage();
    await p.goto(`${servers.ES256.url}/debugger#${tokens.access_token}`);
    await verdict(p, 'valid');
    await p.evaluate(() => document.activeElement?.blur());
    await p.screenshot({ path: join(screenshotDir(), 'debugger.png'), fullPage: true });
  } finally {
    await context.close();
  }
});
