// Unit tests for the debugger's decoding, warnings and WebCrypto verification,
// with tokens signed here by Node's crypto for every algorithm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  b64urlToBytes,
  bytesToB64url,
  decodeJwt,
  JwtError,
  parseKeyText,
  secretBytes,
  timeClaims,
  verifyJwt,
  warnings,
} from '../jwt.js';

const b64 = (s) => Buffer.from(s).toString('base64url');
const NOW = 1_800_000_000;

/** Signs a JWT with Node's crypto (an independent implementation). */
export function sign(alg, key, payload, extraHeader = {}) {
  const header = { alg, typ: 'JWT', ...extraHeader };
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const hash = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[alg.slice(2)];
  let sig;
  if (alg.startsWith('HS')) sig = crypto.createHmac(hash, key).update(input).digest();
  else if (alg.startsWith('RS')) sig = crypto.sign(hash, Buffer.from(input), key);
  else if (alg.startsWith('PS')) {
    sig = crypto.sign(hash, Buffer.from(input), { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  } else if (alg.startsWith('ES')) sig = crypto.sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'EdDSA') sig = crypto.sign(null, Buffer.from(input), key);
  return `${input}.${sig.toString('base64url')}`;
}

const CLAIMS = { iss: 'http://127.0.0.1:8080', sub: 'u1', aud: 'tessera', iat: NOW, exp: NOW + 900 };

function keyPair(alg) {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'ES256') return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (alg === 'ES384') return crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  if (alg === 'ES512') return crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
  if (alg === 'EdDSA') return crypto.generateKeyPairSync('ed25519');
  throw new Error(alg);
}

/** Flips one bit in the payload's last character, keeping it valid base64url. */
function tamper(token) {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.sub = 'admin';
  return `${h}.${b64(JSON.stringify(claims))}.${s}`;
}

test('base64url round trip and strictness', () => {
  for (let n = 0; n < 40; n++) {
    const bytes = crypto.randomBytes(n);
    assert.deepEqual(Buffer.from(b64urlToBytes(bytesToB64url(bytes))), bytes);
    assert.equal(bytesToB64url(bytes), bytes.toString('base64url'));
  }
  assert.throws(() => b64urlToBytes('ab+c'), JwtError);
  assert.throws(() => b64urlToBytes('abcde'), JwtError);
  assert.throws(() => b64urlToBytes('ab=='), JwtError);
});

test('decodes header, payload and signature', () => {
  const t = sign('HS256', 'k'.repeat(32), CLAIMS, { kid: 'k1' });
  const d = decodeJwt(`  Bearer ${t} `);
  assert.deepEqual(d.header, { alg: 'HS256', typ: 'JWT', kid: 'k1' });
  assert.deepEqual(d.payload, CLAIMS);
  assert.equal(d.signature.length, 32);
  assert.equal(d.payloadError, null);
  assert.equal(d.token, t);
});

test('refuses what is not a JWS', () => {
  assert.throws(() => decodeJwt(''), /paste a token/);
  assert.throws(() => decodeJwt('a.b'), /three parts/);
  assert.throws(() => decodeJwt('a.b.c.d.e'), /JWE/);
  assert.throws(() => decodeJwt(`${b64('[1]')}.${b64('{}')}.`), /header is not a JSON object/);
  assert.throws(() => decodeJwt(`${b64('{"alg":')}.${b64('{}')}.`), /header is not JSON/);
  assert.throws(() => decodeJwt(`e30.e30.a+b`), /signature is not base64url/);
  const textPayload = decodeJwt(`${b64('{"alg":"HS256"}')}.${b64('hello')}.`);
  assert.match(textPayload.payloadError, /not JSON/);
  assert.equal(textPayload.payloadText, 'hello');
});

test('time claims are read relative to now', () => {
  const [exp, nbf, iat] = timeClaims({ exp: NOW - 120, nbf: NOW + 3600, iat: NOW - 7200 }, NOW);
  assert.equal(exp.state, 'expired');
  assert.equal(exp.note, 'expired 2 minutes ago');
  assert.equal(exp.date, '2027-01-15T07:58:00Z');
  assert.equal(nbf.state, 'not-yet-valid');
  assert.equal(nbf.note, 'not valid until in 1 hour');
  assert.equal(iat.state, 'issued');
  assert.equal(iat.note, 'issued 2 hours ago');
  assert.equal(timeClaims({ exp: NOW + 30 }, NOW)[0].state, 'valid');
  assert.equal(timeClaims({ exp: 'soon' }, NOW)[0].state, 'invalid');
  assert.equal(timeClaims({ iat: NOW + 3600 }, NOW)[0].state, 'future');
});

test('warnings name the risky properties', () => {
  const codes = (payload, header = { alg: 'ES256' }, opts = {}) =>
    warnings(decodeJwt(`${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}.`), { now: NOW, ...opts }).map((w) => w.code);
  assert.deepEqual(codes(CLAIMS), []);
  assert.ok(codes(CLAIMS, { alg: 'none' }).includes('alg-none'));
  assert.ok(codes(CLAIMS, { alg: 'HS256' }, { secretBytes: 6 }).includes('hs-short-secret'));
  assert.ok(!codes(CLAIMS, { alg: 'HS256' }, { secretBytes: 32 }).includes('hs-short-secret'));
  assert.ok(codes(CLAIMS, { alg: 'HS512' }, { secretBytes: 32 }).includes('hs-short-secret'));
  assert.ok(codes({ ...CLAIMS, exp: NOW + 90 * 86400 }).includes('long-lifetime'));
  assert.ok(!codes({ ...CLAIMS, exp: NOW + 3600 }).includes('long-lifetime'));
  const { aud: _aud, ...noAud } = CLAIMS;
  assert.ok(codes(noAud).includes('no-aud'));
  const { exp: _exp, ...noExp } = CLAIMS;
  assert.ok(codes(noExp).includes('no-exp'));
  assert.ok(codes(CLAIMS, { alg: 'RS256', jku: 'https://evil.example/jwks' }).includes('header-jku'));
  assert.ok(codes(CLAIMS, { alg: 'RS256', jwk: { kty: 'RSA' } }).includes('header-jwk'));
  assert.ok(codes(CLAIMS, { alg: 'RS256', kid: '../../dev/null' }).includes('kid-suspicious'));
});

for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']) {
  test(`verifies ${alg} with a JWK, a JWKS and a PEM key; a tampered token is invalid`, async () => {
    const { publicKey, privateKey } = keyPair(alg);
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: `${alg}-1`, alg, use: 'sig' };
    const token = sign(alg, privateKey, CLAIMS, { kid: jwk.kid });
    const d = decodeJwt(token);
    const bad = decodeJwt(tamper(token));
    const other = keyPair(alg).publicKey.export({ format: 'jwk' });

    assert.equal((await verifyJwt(d, { kind: 'jwk', jwk })).state, 'valid');
    assert.equal((await verifyJwt(bad, { kind: 'jwk', jwk })).state, 'invalid');
    const jwks = { keys: [{ ...other, kid: 'other', alg }, jwk] };
    const viaSet = await verifyJwt(d, { kind: 'jwks', jwks });
    assert.equal(viaSet.state, 'valid');
    assert.equal(viaSet.kid, jwk.kid);
    assert.equal((await verifyJwt(bad, { kind: 'jwks', jwks })).state, 'invalid');
    assert.equal((await verifyJwt(d, { kind: 'jwk', jwk: { ...other, alg } })).state, 'invalid', 'the wrong key');

    const pem = publicKey.export({ format: 'pem', type: 'spki' });
    const spki = parseKeyText(pem);
    assert.equal((await verifyJwt(d, spki)).state, 'valid');
    assert.equal((await verifyJwt(bad, spki)).state, 'invalid');
    if (alg.startsWith('RS') || alg.startsWith('PS')) {
      const pkcs1 = parseKeyText(publicKey.export({ format: 'pem', type: 'pkcs1' }));
      assert.equal((await verifyJwt(d, pkcs1)).state, 'valid');
    }
  });
}

for (const alg of ['HS256', 'HS384', 'HS512']) {
  test(`verifies ${alg} with the secret, as text or base64url`, async () => {
    const secret = crypto.randomBytes(64);
    const token = sign(alg, secret, CLAIMS);
    const d = decodeJwt(token);
    const enc = secret.toString('base64url');
    assert.equal((await verifyJwt(d, { kind: 'secret', secret: secretBytes(enc, true) })).state, 'valid');
    assert.equal((await verifyJwt(d, { kind: 'secret', secret: secretBytes(secret.toString('base64'), true) })).state, 'valid');
    assert.equal((await verifyJwt(decodeJwt(tamper(token)), { kind: 'secret', secret })).state, 'invalid');
    assert.equal((await verifyJwt(d, { kind: 'secret', secret: secretBytes('wrong secret', false) })).state, 'invalid');
    const text = sign(alg, 'a text secret of some length, long enough', CLAIMS);
    assert.equal((await verifyJwt(decodeJwt(text), { kind: 'secret', secret: secretBytes('a text secret of some length, long enough', false) })).state, 'valid');
  });
}

test('keys that cannot verify are an error, not a verdict', async () => {
  const es = keyPair('ES256');
  const rsa = keyPair('RS256');
  const esToken = decodeJwt(sign('ES256', es.privateKey, CLAIMS, { kid: 'a' }));
  const rsJwk = { ...rsa.publicKey.export({ format: 'jwk' }), alg: 'RS256' };
  assert.equal((await verifyJwt(esToken, { kind: 'jwk', jwk: rsJwk })).state, 'error');
  assert.equal((await verifyJwt(esToken, { kind: 'jwks', jwks: { keys: [{ ...rsJwk, kid: 'b' }] } })).state, 'error', 'no such kid');
  assert.equal((await verifyJwt(esToken, { kind: 'secret', secret: secretBytes('x', false) })).state, 'error');
  const hs = decodeJwt(sign('HS256', 'k'.repeat(32), CLAIMS));
  assert.equal((await verifyJwt(hs, { kind: 'jwk', jwk: rsJwk })).state, 'error');
  const none = decodeJwt(`${b64('{"alg":"none"}')}.${b64(JSON.stringify(CLAIMS))}.`);
  assert.equal((await verifyJwt(none, { kind: 'jwk', jwk: rsJwk })).state, 'invalid');
  // An alg confusion attempt: an RS256 public key used as an HS256 secret.
  const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' });
  const confused = decodeJwt(sign('HS256', pem, CLAIMS));
  assert.equal((await verifyJwt(confused, parseKeyText(pem))).state, 'error');
});

test('parses key text and refuses private keys', () => {
  const { publicKey, privateKey } = keyPair('ES256');
  assert.equal(parseKeyText(JSON.stringify({ keys: [] })).kind, 'jwks');
  assert.equal(parseKeyText(JSON.stringify(publicKey.export({ format: 'jwk' }))).kind, 'jwk');
  assert.throws(() => parseKeyText(JSON.stringify(privateKey.export({ format: 'jwk' }))), /private/);
  assert.throws(() => parseKeyText(privateKey.export({ format: 'pem', type: 'pkcs8' })), /private/);
  assert.throws(() => parseKeyText('hello'), JwtError);
  assert.throws(() => parseKeyText('{"a":1}'), JwtError);
});

test('verifies with the public key of a PEM certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=test',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'], { stdio: 'ignore' });
    const privateKey = crypto.createPrivateKey(readFileSync(join(dir, 'key.pem')));
    const token = decodeJwt(sign('ES256', privateKey, CLAIMS));
    const key = parseKeyText(readFileSync(join(dir, 'cert.pem'), 'utf8'));
    assert.equal(key.kind, 'spki');
    assert.equal((await verifyJwt(token, key)).state, 'valid');
    assert.equal((await verifyJwt(decodeJwt(tamper(token.token)), key)).state, 'invalid');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
