// Cross-language interop between tessera-jose and `jose` for Node (run by .ci/interop).
//
//   node verify_jose.mjs verify DIR   verify DIR/tokens.json against DIR/jwks.json
//   node verify_jose.mjs sign DIR     sign tokens with fresh jose keys into DIR
//
// The fixture format is described in crates/jose/examples/interop_tokens.rs.
// Exits non-zero on any failure.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as jose from 'jose';

const ALGS = ['HS256', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const ISSUER = 'https://interop.tessera.example';
const AUDIENCE = 'tessera-interop';
const SUBJECT = 'interop-user';

async function verify(dir) {
  const jwks = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8'));
  const spec = JSON.parse(await readFile(join(dir, 'tokens.json'), 'utf8'));
  const byKid = new Map(jwks.keys.map((k) => [k.kid, k]));

  async function check(token, alg) {
    const header = jose.decodeProtectedHeader(token);
    if (header.alg !== alg) throw new Error(`header alg is ${header.alg}`);
    const jwk = byKid.get(header.kid);
    if (!jwk) throw new Error(`no JWK for kid ${header.kid}`);
    if (jwk.alg !== alg) throw new Error(`JWK alg is ${jwk.alg}`);
    const key = await jose.importJWK(jwk, alg);
    const { payload } = await jose.jwtVerify(token, key, {
      algorithms: [alg],
      issuer: spec.issuer,
      audience: spec.audience,
      typ: 'at+jwt',
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    return payload;
  }

  let passed = 0;
  let failed = 0;
  for (const alg of ALGS) {
    try {
      const token = spec.tokens[alg];
      if (!token) throw new Error('no token');
      const claims = await check(token, alg);
      if (claims.sub !== spec.subject) throw new Error(`sub is ${claims.sub}`);
      // Control: the same signature over a changed payload must fail.
      const [h, , s] = token.split('.');
      const forged = jose.base64url.encode(JSON.stringify({ ...claims, sub: 'attacker' }));
      let accepted = false;
      try {
        await check(`${h}.${forged}.${s}`, alg);
        accepted = true;
      } catch (e) {
        if (!(e instanceof jose.errors.JWSSignatureVerificationFailed)) throw e;
      }
      if (accepted) throw new Error('accepted a forged payload');
      passed += 1;
      console.log(`  ok   ${alg}`);
    } catch (e) {
      failed += 1;
      console.log(`  FAIL ${alg}: ${e}`);
    }
  }
  try {
    await check(spec.expired.token, spec.expired.alg);
    failed += 1;
    console.log('  FAIL expired token was accepted');
  } catch (e) {
    if (e instanceof jose.errors.JWTExpired) {
      passed += 1;
      console.log('  ok   expired token refused');
    } else {
      failed += 1;
      console.log(`  FAIL expired token: ${e}`);
    }
  }
  console.log(`jose: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

async function newKey(alg) {
  if (alg === 'HS256') {
    // ASCII secret: tessera-jose refuses HMAC secrets that begin like JSON or PEM.
    const secret = new TextEncoder().encode(randomBytes(48).toString('base64url'));
    return { privateKey: secret, jwk: { kty: 'oct', k: jose.base64url.encode(secret) } };
  }
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, options);
  return { privateKey, jwk: await jose.exportJWK(publicKey) };
}

async function sign(dir) {
  await mkdir(dir, { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  const keys = [];
  const tokens = {};
  let expired = null;
  for (const alg of ALGS) {
    const { privateKey, jwk } = await newKey(alg);
    const kid = `jose-${alg.toLowerCase()}`;
    keys.push({ ...jwk, kid, alg, use: 'sig' });
    const token = (iat, exp) =>
      new jose.SignJWT({ jti: `jose-${alg}` })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(SUBJECT)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(privateKey);
    tokens[alg] = await token(now, now + 600);
    if (alg === 'ES256') expired = { alg, token: await token(now - 7200, now - 3600) };
  }
  const spec = { issuer: ISSUER, audience: AUDIENCE, subject: SUBJECT, tokens, expired };
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys }));
  await writeFile(join(dir, 'tokens.json'), JSON.stringify(spec, null, 2));
  console.log(`jose: wrote ${Object.keys(tokens).length} tokens to ${dir}`);
  return true;
}

const [mode, dir] = process.argv.slice(2);
if (!dir || !['verify', 'sign'].includes(mode)) {
  console.error('usage: node verify_jose.mjs verify|sign DIR');
  process.exit(2);
}
const ok = await (mode === 'verify' ? verify(dir) : sign(dir));
process.exit(ok ? 0 : 1);
