// JWE interop between tessera-jose and `jose` for Node (run by .ci/interop).
//
//   node jwe_jose.mjs decrypt DIR   decrypt DIR/tokens.json with DIR/jwks.json
//   node jwe_jose.mjs encrypt DIR   encrypt with fresh jose keys into DIR
//
// The fixture format is described in crates/jose/examples/interop_jwe.rs.
// Exits non-zero on any failure.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as jose from 'jose';

const ENCS = ['A128GCM', 'A256GCM', 'A128CBC-HS256', 'A256CBC-HS512'];
const PLAINTEXT = 'jose interop: \u2713 {"sub":"interop-user"} \u2014 end';
const ISSUER = 'https://interop.tessera.example';
const AUDIENCE = 'tessera-interop';
const SUBJECT = 'interop-user';
// The ten key families of interop_jwe.rs (dir is made per enc).
const FAMILIES = [
  ['RSA-OAEP-256', {}],
  ['ECDH-ES', { crv: 'P-256' }],
  ['ECDH-ES', { crv: 'P-384' }],
  ['ECDH-ES', { crv: 'X25519' }],
  ['ECDH-ES+A128KW', { crv: 'P-384' }],
  ['ECDH-ES+A256KW', { crv: 'X25519' }],
  ['ECDH-ES+A256KW', { crv: 'P-256' }],
  ['A128KW', null],
  ['A256KW', null],
];

function flipTag(token) {
  const i = token.lastIndexOf('.');
  const tag = token.slice(i + 1);
  return `${token.slice(0, i + 1)}${tag[0] === 'A' ? 'B' : 'A'}${tag.slice(1)}`;
}

async function decrypt(dir) {
  const jwks = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8'));
  const spec = JSON.parse(await readFile(join(dir, 'tokens.json'), 'utf8'));
  const byKid = new Map(jwks.keys.map((k) => [k.kid, k]));
  let passed = 0;
  let failed = 0;
  for (const entry of [...spec.tokens, { ...spec.nested, nested: true }]) {
    let name = `${entry.alg} ${entry.enc} (${entry.kid})`;
    try {
      const jwk = byKid.get(entry.kid);
      if (!jwk) throw new Error('no JWK for kid');
      const key = await jose.importJWK(jwk, entry.alg === 'dir' ? entry.enc : entry.alg);
      const options = {
        keyManagementAlgorithms: [entry.alg],
        contentEncryptionAlgorithms: [entry.enc],
      };
      const { plaintext, protectedHeader } = await jose.compactDecrypt(entry.token, key, options);
      if (protectedHeader.alg !== entry.alg || protectedHeader.enc !== entry.enc) {
        throw new Error(`header is ${JSON.stringify(protectedHeader)}`);
      }
      const text = new TextDecoder().decode(plaintext);
      if (entry.nested) {
        name = 'nested JWT';
        if (protectedHeader.cty !== 'JWT') throw new Error('no cty JWT');
        const signer = await jose.importJWK(entry.signer, 'ES256');
        const { payload } = await jose.jwtVerify(text, signer, {
          algorithms: ['ES256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['exp', 'sub'],
        });
        if (payload.sub !== SUBJECT) throw new Error(`sub is ${payload.sub}`);
      } else if (text !== spec.plaintext) {
        throw new Error('plaintext differs');
      }
      let accepted = false;
      try {
        await jose.compactDecrypt(flipTag(entry.token), key, options);
        accepted = true;
      } catch (e) {
        if (!(e instanceof jose.errors.JWEDecryptionFailed)) throw e;
      }
      if (accepted) throw new Error('accepted a flipped tag');
      passed += 1;
      console.log(`  ok   ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`  FAIL ${name}: ${e}`);
    }
  }
  if (passed + failed !== 10 * 4 + 1) {
    console.log(`  FAIL expected 41 cases, found ${passed + failed}`);
    failed += 1;
  }
  console.log(`jose <- tessera-jose: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

async function encrypt(dir) {
  await mkdir(dir, { recursive: true });
  const keys = [];
  const tokens = [];
  async function add(publicKey, privateJwk, alg, enc) {
    const kid = privateJwk.kid;
    const token = await new jose.CompactEncrypt(new TextEncoder().encode(PLAINTEXT))
      .setProtectedHeader({ alg, enc, kid })
      .encrypt(publicKey);
    tokens.push({ kid, alg, enc, token });
  }
  let i = 0;
  for (const [alg, opts] of FAMILIES) {
    const kid = `jose-${alg}-${i}`;
    i += 1;
    let encryptWith;
    let jwk;
    if (opts) {
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, {
        ...opts,
        extractable: true,
      });
      encryptWith = publicKey;
      jwk = await jose.exportJWK(privateKey);
    } else {
      encryptWith = await jose.generateSecret(alg, { extractable: true });
      jwk = await jose.exportJWK(encryptWith);
    }
    Object.assign(jwk, { kid, alg, use: 'enc' });
    keys.push(jwk);
    for (const enc of ENCS) await add(encryptWith, jwk, alg, enc);
  }
  for (const enc of ENCS) {
    const secret = await jose.generateSecret(enc, { extractable: true });
    const jwk = Object.assign(await jose.exportJWK(secret), {
      kid: `jose-dir-${enc}`,
      alg: 'dir',
      use: 'enc',
    });
    keys.push(jwk);
    await add(secret, jwk, 'dir', enc);
  }
  // Nested: an ES256 JWT encrypted to the RSA-OAEP-256 key.
  const signer = await jose.generateKeyPair('ES256', { extractable: true });
  const inner = await new jose.SignJWT({ sub: SUBJECT })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'jose-signer' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signer.privateKey);
  const { d, p, q, dp, dq, qi, ...rsaPublic } = keys[0];
  const rsa = await jose.importJWK(rsaPublic, 'RSA-OAEP-256');
  const nested = await new jose.CompactEncrypt(new TextEncoder().encode(inner))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT', kid: keys[0].kid })
    .encrypt(rsa);
  const signerJwk = Object.assign(await jose.exportJWK(signer.publicKey), {
    kid: 'jose-signer',
    alg: 'ES256',
  });
  const spec = {
    plaintext: PLAINTEXT,
    tokens,
    nested: {
      kid: keys[0].kid,
      alg: 'RSA-OAEP-256',
      enc: 'A256GCM',
      token: nested,
      signer: signerJwk,
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: SUBJECT,
    },
  };
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys }));
  await writeFile(join(dir, 'tokens.json'), JSON.stringify(spec, null, 2));
  console.log(`jose: wrote ${tokens.length} JWEs and a nested JWT to ${dir}`);
  return true;
}

const [cmd, dir] = process.argv.slice(2);
if (!dir || !['decrypt', 'encrypt'].includes(cmd)) {
  console.error('usage: node jwe_jose.mjs decrypt|encrypt DIR');
  process.exit(2);
}
const ok = await (cmd === 'decrypt' ? decrypt(dir) : encrypt(dir));
process.exit(ok ? 0 : 1);
