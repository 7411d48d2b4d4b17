// The debugger decrypting encrypted access tokens issued by real servers
// (`access_token_encryption_jwk`) in headless Chromium: the private JWK is
// pasted, the JWE is decrypted with WebCrypto, and the inner signed token is
// shown and verified against the server's JWKS. Wrong keys, wrong algorithms
// and altered tokens are refused with a message; no request carries the
// token or the key, and the page reports no CSP violation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, recordRequests, screenshotDir, startTessera, userTokens } from './harness.js';
import * as jose from 'jose';
import { CONTENT_ALGORITHMS, CURVES, KEY_ALGORITHMS } from '../../debugger/jwe.js';

/** A private JWK for `alg`, made by Node's crypto. */
function privateJwk(alg, crv) {
  let pair;
  if (alg.startsWith('RSA')) pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (crv === 'X25519') pair = crypto.generateKeyPairSync('x25519');
  else pair = crypto.generateKeyPairSync('ec', { namedCurve: crv });
  return { ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'enc', kid: `enc-${alg}-${crv ?? 'rsa'}` };
}

// One server per key kind: RSA-OAEP-256 with the default A256GCM; ECDH-ES
// (direct) on P-256 with A128CBC-HS256; ECDH-ES+A256KW on X25519 with A256CBC-HS512.
const SETUPS = [
  { name: 'RSA-OAEP-256 / A256GCM', alg: 'RSA-OAEP-256', enc: 'A256GCM' },
  { name: 'ECDH-ES P-256 / A128CBC-HS256', alg: 'ECDH-ES', crv: 'P-256', enc: 'A128CBC-HS256' },
  { name: 'ECDH-ES+A256KW X25519 / A256CBC-HS512', alg: 'ECDH-ES+A256KW', crv: 'X25519', enc: 'A256CBC-HS512' },
];

const keyDir = mkdtempSync(join(tmpdir(), 'tessera-jwe-keys-'));
let browser;

before(async () => {
  browser = await launch();
  for (const [i, s] of SETUPS.entries()) {
    s.jwk = privateJwk(s.alg, s.crv);
    const path = join(keyDir, `enc-${i}.jwk`);
    writeFileSync(path, JSON.stringify(s.jwk), { mode: 0o600 });
    s.server = await startTessera({
      alg: 'ES256',
      ttl: 600,
      env: { TESSERA_ACCESS_TOKEN_ENCRYPTION_JWK: path, TESSERA_ACCESS_TOKEN_ENCRYPTION_ENC: s.enc },
    });
  }
});

after(async () => {
  await browser?.close();
  await Promise.all(SETUPS.map((s) => s.server?.stop()));
  rmSync(keyDir, { recursive: true, force: true });
});

/** A fresh page recording every request, page error, console error and CSP violation. */
async function page() {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e));
  p.on('console', (m) => {
    if (m.type() === 'error') errors.push(new Error(m.text()));
  });
  await p.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { context, page: p, requests, errors };
}

async function state(p, selector, value) {
  await p.waitForSelector(`${selector}[data-state="${value}"]`, { timeout: 15_000 });
  return p.textContent(selector);
}

/** No request carries the token, any of its parts, or any private key member. */
function assertNoLeak(requests, tokens, jwks) {
  const needles = new Set();
  for (const t of tokens) {
    needles.add(t);
    for (const part of t.split('.')) if (part.length >= 8) needles.add(part);
  }
  for (const jwk of jwks) for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) if (typeof jwk[m] === 'string') needles.add(jwk[m]);
  assert.ok(requests.length > 0, 'requests were recorded');
  for (const r of requests) {
    const haystacks = [r.url, decodeURIComponent(r.url), r.body, ...Object.values(r.headers)];
    for (const n of needles) for (const h of haystacks) assert.ok(!h.includes(n), `a request carried a secret: ${r.method} ${r.url}`);
  }
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const setup of SETUPS) {
  test(`${setup.name}: a Tessera-issued encrypted access token is decrypted with the pasted key and its inner JWS verified against the JWKS`, async () => {
    const { server, jwk } = setup;
    const tokens = await userTokens(server.url);
    const token = tokens.access_token;
    assert.equal(token.split('.').length, 5, 'the server issues a JWE');
    const { context, page: p, requests, errors } = await page();
    try {
      await p.goto(`${server.url}/debugger`);
      await p.waitForSelector('html[data-ready="true"]');
      await p.fill('#token', token);
      await p.waitForSelector('#jwe-box:not([hidden])');
      assert.equal(await p.textContent('#jwe-alg'), setup.alg);
      assert.equal(await p.textContent('#jwe-enc'), setup.enc);
      assert.equal(await p.textContent('#jwe-cty'), 'JWT');
      assert.match(await p.textContent('#verdict'), /Decrypt the token/);

      await p.fill('#jwe-key', JSON.stringify(jwk));
      assert.match(await state(p, '#jwe-status', 'valid'), new RegExp(escape(`Decrypted (${setup.alg}, ${setup.enc}, kid ${jwk.kid}): a nested JWT`)));
      assert.match(await state(p, '#verdict', 'valid'), /Signature verified \(ES256/);
      assert.equal(await p.isVisible('#inner-note'), true);
      assert.equal(await p.isVisible('#colored-note'), true);
      assert.equal(await p.textContent('#alg'), 'ES256');
      assert.equal(await p.textContent('#typ'), 'at+jwt');
      const payload = JSON.parse(await p.textContent('#payload'));
      assert.equal(payload.iss, server.url);
      assert.equal(payload.aud, 'tessera');
      assert.equal(typeof payload.sub, 'string');
      assert.equal(await p.getAttribute('#times tr[data-claim="exp"]', 'data-state'), 'valid');
      const inner = `${await p.textContent('#enc-header')}.${await p.textContent('#enc-payload')}.${await p.textContent('#enc-signature')}`;
      assert.equal(inner.split('.').length, 3);

      // Another key of the same kind cannot decrypt; nothing is shown or verified.
      const other = privateJwk(setup.alg, setup.crv);
      await p.fill('#jwe-key', JSON.stringify({ ...other, kid: jwk.kid }));
      assert.match(await state(p, '#jwe-status', 'error'), /Cannot decrypt: decryption failed/);
      assert.notEqual(await p.getAttribute('#verdict', 'data-state'), 'valid');
      assert.equal(await p.textContent('#payload'), '');
      // The right key material under another alg: the key owns the algorithm.
      const wrongAlg = setup.alg === 'RSA-OAEP-256' ? 'RSA-OAEP' : setup.alg === 'ECDH-ES' ? 'ECDH-ES+A128KW' : 'ECDH-ES';
      await p.fill('#jwe-key', JSON.stringify({ ...jwk, alg: wrongAlg }));
      assert.match(await state(p, '#jwe-status', 'error'), new RegExp(escape(`the key is for ${wrongAlg}; the JWE says`)));
      // Only the public half.
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      await p.fill('#jwe-key', JSON.stringify(pub));
      assert.match(await state(p, '#jwe-status', 'error'), /public key/);

      // An altered tag is refused; the right key decrypts again.
      await p.fill('#jwe-key', JSON.stringify(jwk));
      await state(p, '#verdict', 'valid');
      const parts = token.split('.');
      parts[4] = (parts[4][0] === 'A' ? 'B' : 'A') + parts[4].slice(1);
      const altered = parts.join('.');
      await p.fill('#token', altered);
      assert.match(await state(p, '#jwe-status', 'error'), /authentication tag does not match|decryption failed/);
      await p.fill('#token', token);
      await state(p, '#verdict', 'valid');

      assert.deepEqual(await p.evaluate(() => window.__cspViolations), []);
      const seen = await requests.all();
      assertNoLeak(seen, [token, altered, inner, tokens.refresh_token], [jwk, other]);
      for (const r of seen) assert.ok(r.url.startsWith(server.url), `only this origin: ${r.url}`);
      assert.ok(seen.some((r) => new URL(r.url).pathname === '/.well-known/jwks.json'), 'the JWKS was fetched');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('the page lists what it can decrypt; /debugger#<jwe> works; zip and unknown algorithms are refused with a message', async () => {
  const { server, jwk } = SETUPS[1];
  const tokens = await userTokens(server.url);
  const { context, page: p, errors } = await page();
  try {
    await p.goto(`${server.url}/debugger#${tokens.access_token}`);
    await p.waitForSelector('#jwe-box:not([hidden])');
    assert.equal(await p.evaluate(() => location.hash), '', 'the token is taken out of the address bar');
    const support = await p.textContent('#jwe-support');
    for (const name of [...Object.keys(KEY_ALGORITHMS), ...Object.keys(CONTENT_ALGORITHMS), ...Object.keys(CURVES)]) {
      assert.ok(support.includes(name), `the page says it decrypts ${name}`);
    }
    await p.fill('#jwe-key', JSON.stringify(jwk));
    await state(p, '#verdict', 'valid');

    const [, ...rest] = tokens.access_token.split('.');
    const header = JSON.parse(Buffer.from(tokens.access_token.split('.')[0], 'base64url'));
    await p.fill('#token', [b64({ ...header, zip: 'DEF' }), ...rest].join('.'));
    await p.waitForSelector('#decode-error:not([hidden])');
    assert.match(await p.textContent('#decode-error'), /Not a usable JWE: "zip".*refused/);
    await p.fill('#token', [b64({ ...header, alg: 'RSA1_5' }), ...rest].join('.'));
    await p.waitForFunction(() => /RSA1_5/.test(document.getElementById('decode-error').textContent));
    assert.match(await p.textContent('#decode-error'), /unsupported key management "alg" "RSA1_5"/);
    assert.deepEqual(await p.evaluate(() => window.__cspViolations), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a JWE that holds JSON is shown decrypted with nothing to verify; a JWS without cty "JWT" is still shown and verified', async () => {
  const { server } = SETUPS[1];
  const secret = crypto.randomBytes(32);
  const jwk = { kty: 'oct', k: secret.toString('base64url'), alg: 'A256KW' };
  const seal = (plaintext, header = {}) =>
    new jose.CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader({ alg: 'A256KW', enc: 'A128GCM', ...header }).encrypt(secret);
  const jsonJwe = await seal(JSON.stringify({ hello: 'world', n: 1 }));
  const tokens = await userTokens(server.url);
  // Below, the inner JWS of a server token is sealed again without cty.
  const { context, page: p, errors } = await page();
  try {
    await p.goto(`${server.url}/debugger`);
    await p.waitForSelector('html[data-ready="true"]');
    await p.fill('#token', tokens.access_token);
    await p.fill('#jwe-key', JSON.stringify(SETUPS[1].jwk));
    await state(p, '#verdict', 'valid');
    const inner = `${await p.textContent('#enc-header')}.${await p.textContent('#enc-payload')}.${await p.textContent('#enc-signature')}`;

    await p.fill('#token', jsonJwe);
    await p.fill('#jwe-key', JSON.stringify(jwk));
    assert.match(await state(p, '#jwe-status', 'valid'), /the content is not a JWT/);
    assert.deepEqual(JSON.parse(await p.textContent('#payload')), { hello: 'world', n: 1 });
    assert.match(await p.textContent('#verdict'), /Nothing to verify/);
    assert.equal(await p.isVisible('#colored'), false);

    await p.fill('#token', await seal(inner));
    assert.match(await state(p, '#jwe-status', 'valid'), /no cty "JWT", but the content is a signed token/);
    assert.match(await state(p, '#verdict', 'valid'), /Signature verified \(ES256/);
    assert.deepEqual(await p.evaluate(() => window.__cspViolations), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('screenshot of the debugger decrypting an encrypted access token', async () => {
  const { server, jwk } = SETUPS[0];
  const tokens = await userTokens(server.url);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  try {
    const p = await context.newPage();
    await p.goto(`${server.url}/debugger#${tokens.access_token}`);
    await p.waitForSelector('#jwe-box:not([hidden])');
    await p.fill('#jwe-key', JSON.stringify(jwk, null, 1));
    await state(p, '#verdict', 'valid');
    await p.evaluate(() => document.activeElement?.blur());
    await p.screenshot({ path: join(screenshotDir(), 'debugger-jwe.png'), fullPage: true });
  } finally {
    await context.close();
  }
});
