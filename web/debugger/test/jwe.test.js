// Unit tests for the debugger's JWE decryption (web/debugger/jwe.js) under
// Node's WebCrypto: RFC 7520 §5 and RFC 7518 vectors, Project Wycheproof,
// round trips with tokens encrypted by npm `jose` (an independent
// implementation, used here only as an oracle), and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import {
  aesUnwrap,
  CONTENT_ALGORITHMS,
  concatKdf,
  constantTimeEqual,
  decodeJwe,
  decryptContent,
  decryptJwe,
  JweError,
  KEY_ALGORITHMS,
  looksLikeJwe,
  MAX_JWE_LENGTH,
  MAX_KEY_LENGTH,
  parsePrivateKeyText,
} from '../jwe.js';
import { bytesToB64url } from '../jwt.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const hex = (s) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const text = new TextEncoder();

/** Decrypts `token` with the key text; resolves to the result or the JweError. */
async function open(token, key) {
  try {
    return await decryptJwe(decodeJwe(token), parsePrivateKeyText(typeof key === 'string' ? key : JSON.stringify(key)));
  } catch (e) {
    if (!(e instanceof JweError)) throw new Error(`not a JweError: ${e && e.stack}`);
    return { error: e.message };
  }
}

/** Replaces one base64url character of part `i` with another. */
function flip(token, i, at = 0) {
  const parts = token.split('.');
  const s = parts[i];
  const pos = at < 0 ? s.length + at : at;
  parts[i] = s.slice(0, pos) + (s[pos] === 'A' ? 'B' : 'A') + s.slice(pos + 1);
  return parts.join('.');
}

const rfc7520 = readJson(join(repo, 'crates/jose/tests/vectors/rfc7520_section5.json'));

test('RFC 7520 §5.4, 5.5, 5.6 and 5.8 decrypt to the RFC plaintext; §5.9 (zip) is refused', async () => {
  const want = ['5_4_ecdh_es_a128kw_a128gcm', '5_5_ecdh_es_a128cbc_hs256', '5_6_dir_a128gcm', '5_8_a128kw_a128gcm'];
  for (const name of want) {
    const ex = rfc7520.examples[name];
    const r = await open(ex.compact, ex.key);
    assert.equal(r.error, undefined, `${name}: ${r.error}`);
    assert.equal(r.text, rfc7520.plaintext, name);
    assert.equal(r.nested, false);
    assert.equal(r.kid, ex.key.kid);
  }
  const zip = rfc7520.examples['5_9_a128kw_a128gcm_zip'];
  assert.match((await open(zip.compact, zip.key)).error, /"zip".*refused/);
  const a3 = rfc7520.rfc7516_a3;
  const r = await open(a3.compact, a3.key);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.text, a3.plaintext);
});

test('RFC 7520 examples: any altered part (header, key, IV, ciphertext, tag) is refused', async () => {
  for (const [name, ex] of Object.entries(rfc7520.examples)) {
    if (name.includes('zip')) continue;
    for (const part of [0, 1, 2, 3, 4]) {
      if (part === 1 && ex.compact.split('.')[1] === '') continue; // no encrypted key (dir, ECDH-ES)
      // Position 5 of the header changes its JSON; elsewhere the first character.
      const r = await open(flip(ex.compact, part, part === 0 ? 5 : 0), ex.key);
      assert.ok(r.error, `${name}: altered part ${part} decrypted`);
    }
    const tag = await open(flip(ex.compact, 4), ex.key);
    assert.match(tag.error, /decryption failed/, name);
  }
});

test('RFC 7518 Appendix B (AES_CBC_HMAC_SHA2) and Appendix C (Concat KDF)', async () => {
  const b = readJson(join(repo, 'crates/jose/tests/vectors/rfc7518_appendix_b.json'));
  for (const [name, enc] of [['b1_a128cbc_hs256', 'A128CBC-HS256'], ['b3_a256cbc_hs512', 'A256CBC-HS512']]) {
    const v = b[name];
    const pt = await decryptContent(enc, hex(v.K), hex(v.IV), hex(v.E), hex(v.T), hex(v.A));
    assert.deepEqual(pt, hex(v.P), name);
    const bad = hex(v.T);
    bad[bad.length - 1] ^= 1;
    await assert.rejects(decryptContent(enc, hex(v.K), hex(v.IV), hex(v.E), bad, hex(v.A)), /authentication tag/);
  }
  const z = Uint8Array.from([
    158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140,
    254, 144, 196,
  ]);
  const key = await concatKdf(z, 16, 'A128GCM', text.encode('Alice'), text.encode('Bob'));
  assert.equal(bytesToB64url(key), 'VqqN6vgjbSBcIijNcacQGg');
});

test('CBC-HMAC: the tag is checked before decrypting (a bad tag over bad padding reports the tag)', async () => {
  const b = readJson(join(repo, 'crates/jose/tests/vectors/rfc7518_appendix_b.json')).b1_a128cbc_hs256;
  const e = hex(b.E);
  e[e.length - 1] ^= 0xff; // the last block now decrypts to bad padding
  await assert.rejects(decryptContent('A128CBC-HS256', hex(b.K), hex(b.IV), e, hex(b.T), hex(b.A)), /authentication tag does not match/);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false);
});

const WYCHEPROOF_DIR = process.env.TESSERA_WYCHEPROOF_DIR ?? join(repo, '../shared/vectors/wycheproof');

const A192 = '192-bit AES (A192GCM, A192CBC-HS384, A192KW, ECDH-ES+A192KW) is not offered';
const GCMKW = 'AES-GCM key wrap (A128GCMKW/A192GCMKW/A256GCMKW) is not offered';
const RSA1_5 = 'RSA1_5 does not exist here (padding oracles)';
const ZIP = 'zip is refused (compression leaks the plaintext through its length)';
/** Valid Wycheproof cases the debugger refuses on purpose, with the reason. */
const WYCHEPROOF_DIVERGENCES = new Map([
  ...[28, 31, 53, 56, 60, 61, 70, 77, 80, 83, 86, 89, 92].map((id) => [id, A192]),
  ...[71, 72, 73, 74, 75, 133].map((id) => [id, GCMKW]),
  ...[100, 101, 102, 103, 104, 105, 112, 128].map((id) => [id, RSA1_5]),
  [135, ZIP],
]);

test('Wycheproof json_web_encryption_test.json: every case agrees or is a listed divergence', async (t) => {
  const path = join(WYCHEPROOF_DIR, 'json_web_encryption_test.json');
  if (!existsSync(path)) {
    t.skip(`wycheproof vectors not found at ${WYCHEPROOF_DIR} (set TESSERA_WYCHEPROOF_DIR)`);
    return;
  }
  const file = readJson(path);
  let total = 0;
  let agreed = 0;
  const unexpected = [];
  const stale = [];
  for (const group of file.testGroups) {
    for (const c of group.tests) {
      total += 1;
      const r = await open(c.jwe, group.private);
      // The caller of a library fixes `enc`; a debugger shows what the header says, and here it must be the case's.
      const ok = r.error === undefined && (c.pt === undefined || Buffer.from(r.plaintext).toString('hex') === c.pt) && decodeJwe(c.jwe).enc === c.enc;
      const agrees = c.result === 'valid' ? ok : r.error !== undefined;
      const listed = WYCHEPROOF_DIVERGENCES.has(c.tcId);
      if (agrees && listed) stale.push(c.tcId);
      else if (agrees) agreed += 1;
      else if (!listed) unexpected.push(`tcId ${c.tcId} (${c.comment}): expected ${c.result}, got ${r.error ?? 'plaintext'}`);
    }
  }
  assert.deepEqual(unexpected, []);
  assert.deepEqual(stale, []);
  assert.equal(total, file.numberOfTests);
  assert.equal(agreed + WYCHEPROOF_DIVERGENCES.size, total);
});

test('Wycheproof a128cbc_hs256_test.json: every case agrees', async (t) => {
  const path = join(WYCHEPROOF_DIR, 'a128cbc_hs256_test.json');
  if (!existsSync(path)) {
    t.skip(`wycheproof vectors not found at ${WYCHEPROOF_DIR}`);
    return;
  }
  const file = readJson(path);
  let total = 0;
  for (const group of file.testGroups) {
    for (const c of group.tests) {
      total += 1;
      let got;
      try {
        got = Buffer.from(await decryptContent('A128CBC-HS256', hex(c.key), hex(c.iv), hex(c.ct), hex(c.tag), hex(c.aad))).toString('hex');
      } catch (e) {
        assert.ok(e instanceof JweError, `tcId ${c.tcId}: ${e}`);
        got = null;
      }
      if (c.result === 'valid') assert.equal(got, c.msg, `tcId ${c.tcId}`);
      else assert.equal(got, null, `tcId ${c.tcId} (${c.comment}) decrypted`);
    }
  }
  assert.equal(total, file.numberOfTests);
});

test('Wycheproof aes_wrap_test.json: every 128- and 256-bit case agrees (AES-192 is not used by the JWE algorithms here)', async (t) => {
  const path = join(WYCHEPROOF_DIR, 'aes_wrap_test.json');
  if (!existsSync(path)) {
    t.skip(`wycheproof vectors not found at ${WYCHEPROOF_DIR}`);
    return;
  }
  let run = 0;
  for (const group of readJson(path).testGroups) {
    if (group.keySize === 192) continue;
    for (const c of group.tests) {
      let got;
      try {
        const ct = hex(c.ct);
        got = Buffer.from(await aesUnwrap(hex(c.key), ct, ct.length - 8)).toString('hex');
      } catch (e) {
        assert.ok(e instanceof JweError, `tcId ${c.tcId}: ${e}`);
        got = null;
      }
      run += 1;
      if (c.result === 'valid') assert.equal(got, c.msg, `tcId ${c.tcId}`);
      else if (c.result === 'invalid') assert.equal(got, null, `tcId ${c.tcId} (${c.comment}) unwrapped`);
    }
  }
  assert.equal(run, 110);
});

/** A private JWK from npm jose for `alg` (and curve), with `alg` and `kid` set. */
async function joseKey(alg, crv) {
  let priv;
  let pub;
  if (alg === 'dir' || alg.endsWith('KW') && !alg.startsWith('ECDH')) {
    const secret = alg === 'dir' ? null : await jose.generateSecret(alg, { extractable: true });
    return { secret, jwk: secret ? { ...(await jose.exportJWK(secret)), alg, kid: 'k1' } : null };
  }
  ({ privateKey: priv, publicKey: pub } = await jose.generateKeyPair(alg, { crv, extractable: true, modulusLength: 2048 }));
  return { pub, jwk: { ...(await jose.exportJWK(priv)), alg, use: 'enc', kid: 'k1' } };
}

async function joseDirKey(enc) {
  const secret = await jose.generateSecret(enc, { extractable: true });
  return { secret, jwk: { ...(await jose.exportJWK(secret)), kid: 'k1' } };
}

const INNER = 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1MSJ9.c2ln';

async function joseEncrypt(alg, enc, key, header = {}) {
  const target = key.pub ?? key.secret;
  return new jose.CompactEncrypt(text.encode(INNER)).setProtectedHeader({ alg, enc, cty: 'JWT', kid: 'k1', ...header }).encrypt(target);
}

const ROUND_TRIPS = [
  ['RSA-OAEP-256'],
  ['RSA-OAEP'],
  ['ECDH-ES', 'P-256'],
  ['ECDH-ES', 'P-384'],
  ['ECDH-ES', 'X25519'],
  ['ECDH-ES+A128KW', 'P-256'],
  ['ECDH-ES+A256KW', 'P-384'],
  ['ECDH-ES+A256KW', 'X25519'],
  ['A128KW'],
  ['A256KW'],
  ['dir'],
];

for (const [alg, crv] of ROUND_TRIPS) {
  test(`npm jose encrypts ${alg}${crv ? ` (${crv})` : ''} with every enc; the debugger decrypts the nested JWT`, async () => {
    for (const enc of Object.keys(CONTENT_ALGORITHMS)) {
      const key = alg === 'dir' ? await joseDirKey(enc) : await joseKey(alg, crv);
      const token = await joseEncrypt(alg, enc, key, { apu: 'QWxpY2U', apv: 'Qm9i' });
      assert.ok(looksLikeJwe(token));
      const r = await open(token, key.jwk);
      assert.equal(r.error, undefined, `${alg}/${enc}: ${r.error}`);
      assert.equal(r.text, INNER);
      assert.equal(r.nested, true);
      // A flipped tag bit, and another key of the same kind, are refused.
      assert.match((await open(flip(token, 4, -2), key.jwk)).error, /decryption failed|tag/, `${alg}/${enc} tag`);
      const other = alg === 'dir' ? await joseDirKey(enc) : await joseKey(alg, crv);
      assert.match((await open(token, other.jwk)).error, /decryption failed|tag/, `${alg}/${enc} other key`);
    }
  });
}

test('the key owns the algorithm: a header alg that does not fit the key is refused before any work', async () => {
  const ec = await joseKey('ECDH-ES+A256KW', 'P-256');
  const token = await joseEncrypt('ECDH-ES+A256KW', 'A256GCM', ec);
  // Same key material, but the JWK says ECDH-ES: the header's alg does not match.
  assert.match((await open(token, { ...ec.jwk, alg: 'ECDH-ES' })).error, /the key is for ECDH-ES; the JWE says ECDH-ES\+A256KW/);
  // Without alg, the kty and curve must fit; with use "sig" the key is refused.
  assert.equal((await open(token, { ...ec.jwk, alg: undefined })).error, undefined);
  assert.match((await open(token, { ...ec.jwk, use: 'sig' })).error, /"use" is "sig"/);
  assert.match((await open(token, { ...ec.jwk, key_ops: ['sign'] })).error, /key_ops/);
  // A P-384 key for a P-256 epk.
  const p384 = await joseKey('ECDH-ES+A256KW', 'P-384');
  assert.match((await open(token, p384.jwk)).error, /not on the key's curve/);
  // An RSA key for an ECDH token, an oct key for RSA.
  const rsa = await joseKey('RSA-OAEP-256');
  const { alg: _a, ...rsaNoAlg } = rsa.jwk;
  assert.match((await open(token, rsaNoAlg)).error, /a RSA key cannot decrypt ECDH-ES\+A256KW/);
  const kw = await joseKey('A256KW');
  const rsaToken = await joseEncrypt('RSA-OAEP-256', 'A128GCM', rsa);
  const { alg: _b, ...kwNoAlg } = kw.jwk;
  assert.match((await open(rsaToken, kwNoAlg)).error, /a oct key cannot decrypt RSA-OAEP-256/);
  // A 32-byte oct key cannot do A128KW; the public half of a key cannot decrypt.
  const kw128 = await joseKey('A128KW');
  assert.match((await open(await joseEncrypt('A128KW', 'A128GCM', kw128), kwNoAlg)).error, /A128KW needs a 16-byte key/);
  const { d: _d, ...pubOnly } = ec.jwk;
  assert.match((await open(token, pubOnly)).error, /public key/);
  // A JWKS: the key is picked by kid.
  const jwks = { keys: [{ ...p384.jwk, kid: 'other' }, ec.jwk] };
  assert.equal((await open(token, jwks)).text, INNER);
  assert.match((await open(token, { keys: [{ ...ec.jwk, kid: 'nope' }, { ...p384.jwk, kid: 'other' }] })).error, /no key with kid "k1"/);
});

test('refused: zip, crit, unknown algorithms, bad epk, wrong sizes, oversized input, malformed parts', async () => {
  const kw = await joseKey('A256KW');
  const good = await joseEncrypt('A256KW', 'A256GCM', kw);
  const [, ek, iv, ct, tag] = good.split('.');
  const withHeader = (h) => [bytesToB64url(text.encode(JSON.stringify(h))), ek, iv, ct, tag].join('.');
  const cases = [
    [withHeader({ alg: 'A256KW', enc: 'A256GCM', zip: 'DEF' }), /"zip"/],
    [withHeader({ alg: 'A256KW', enc: 'A256GCM', crit: ['exp'], exp: 1 }), /"crit"/],
    [withHeader({ alg: 'RSA1_5', enc: 'A256GCM' }), /unsupported key management "alg" "RSA1_5"/],
    [withHeader({ alg: 'A256KW', enc: 'A192GCM' }), /unsupported content encryption "enc" "A192GCM"/],
    [withHeader({ alg: 'A256KW' }), /no "enc"/],
    [withHeader([1, 2]), /not a JSON object/],
    [[withHeader({ alg: 'dir', enc: 'A256GCM' })].join('.'), /encrypted key must be empty/],
    [[good.split('.')[0], ek, 'AAAA', ct, tag].join('.'), /12-byte IV/],
    [[good.split('.')[0], ek, iv, ct, 'AAAA'].join('.'), /16-byte tag/],
    [[good.split('.')[0], '', iv, ct, tag].join('.'), /needs an encrypted key/],
    [[good.split('.')[0], ek, iv, 'a+b', tag].join('.'), /not base64url/],
    ['a.b.c.d', /five parts/],
    [`${good.split('.')[0]}.${'A'.repeat(MAX_JWE_LENGTH)}.${iv}.${ct}.${tag}`, /longer than/],
  ];
  for (const [token, want] of cases) assert.match((await open(token, kw.jwk)).error, want, token.slice(0, 80));
  assert.match((await open(good, 'x'.repeat(MAX_KEY_LENGTH + 1))).error, /longer than/);
  assert.match((await open(good, '-----BEGIN PRIVATE KEY-----')).error, /JWK or a JWKS/);
  assert.match((await open(good, '{"keys": []}')).error, /holds no key/);

  // An epk that is not on the curve, on another curve, or holding "d"; an X25519 low-order point.
  const ec = await joseKey('ECDH-ES', 'P-256');
  const ecToken = await joseEncrypt('ECDH-ES', 'A128GCM', ec);
  const h = JSON.parse(Buffer.from(ecToken.split('.')[0], 'base64url'));
  const rest = ecToken.split('.').slice(1).join('.');
  const reheader = (hh) => `${bytesToB64url(text.encode(JSON.stringify(hh)))}.${rest}`;
  const offCurve = { ...h.epk, y: bytesToB64url(Uint8Array.from(Buffer.from(h.epk.y, 'base64url')).map((b, i) => (i === 31 ? b ^ 1 : b))) };
  assert.match((await open(reheader({ ...h, epk: offCurve }), ec.jwk)).error, /"epk" cannot be used/);
  assert.match((await open(reheader({ ...h, epk: { ...h.epk, d: ec.jwk.d } }), ec.jwk)).error, /private key/);
  assert.match((await open(reheader({ ...h, epk: undefined }), ec.jwk)).error, /needs an ephemeral public key/);
  assert.match((await open(reheader({ ...h, apu: 5 }), ec.jwk)).error, /"apu" is not a base64url string/);
  const x = await joseKey('ECDH-ES', 'X25519');
  const xToken = await joseEncrypt('ECDH-ES', 'A128GCM', x);
  const xh = JSON.parse(Buffer.from(xToken.split('.')[0], 'base64url'));
  const zero = { ...xh, epk: { ...xh.epk, x: bytesToB64url(new Uint8Array(32)) } };
  const low = `${bytesToB64url(text.encode(JSON.stringify(zero)))}.${xToken.split('.').slice(1).join('.')}`;
  assert.match((await open(low, x.jwk)).error, /all-zero|key agreement failed|cannot be used/);
});

test('never an uncaught error: every one-character change of a token is decrypted or refused with a message', async () => {
  const ec = await joseKey('ECDH-ES+A128KW', 'P-256');
  const token = await joseEncrypt('ECDH-ES+A128KW', 'A128CBC-HS256', ec);
  const alphabet = 'A_.-9z';
  let refused = 0;
  for (let i = 0; i < token.length; i += 7) {
    for (const c of alphabet) {
      if (token[i] === c) continue;
      const r = await open(token.slice(0, i) + c + token.slice(i + 1), ec.jwk); // open() fails the test on a non-JweError
      if (r.error) refused += 1;
      else assert.equal(r.text, INNER, 'a change that decrypts must leave the plaintext as it was');
    }
  }
  assert.ok(refused > 100, `${refused} refusals`);
});

test('the supported lists are what the page and README promise', () => {
  assert.deepEqual(Object.keys(KEY_ALGORITHMS), ['RSA-OAEP-256', 'RSA-OAEP', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW', 'A128KW', 'A256KW', 'dir']);
  assert.deepEqual(Object.keys(CONTENT_ALGORITHMS), ['A128GCM', 'A256GCM', 'A128CBC-HS256', 'A256CBC-HS512']);
  const page = readFileSync(join(here, '../index.html'), 'utf8');
  for (const name of [...Object.keys(KEY_ALGORITHMS), ...Object.keys(CONTENT_ALGORITHMS), 'P-256', 'P-384', 'X25519']) {
    assert.ok(page.includes(`<code>${name}</code>`), `index.html lists ${name}`);
  }
});

test('a browser whose WebCrypto lacks X25519 gets a clear message', async () => {
  const x = await joseKey('ECDH-ES', 'X25519');
  const token = await joseEncrypt('ECDH-ES', 'A128GCM', x);
  const real = globalThis.crypto;
  const subtle = new Proxy(real.subtle, {
    get(target, name) {
      if (name === 'importKey') {
        return async (format, data, params, ...rest) => {
          if (params && params.name === 'X25519') throw new DOMException('Unrecognized name', 'NotSupportedError');
          return target.importKey(format, data, params, ...rest);
        };
      }
      const v = Reflect.get(target, name);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  Object.defineProperty(globalThis, 'crypto', { value: { subtle }, configurable: true, writable: true });
  try {
    assert.match((await open(token, x.jwk)).error, /this browser's WebCrypto does not support X25519/);
  } finally {
    Object.defineProperty(globalThis, 'crypto', { value: real, configurable: true, writable: true });
  }
  assert.equal((await open(token, x.jwk)).text, INNER);
});
