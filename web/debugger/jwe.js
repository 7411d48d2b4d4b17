// JWE (RFC 7516, compact serialization) decryption for the debugger, with a
// pasted private JWK, through WebCrypto only. Nothing here touches the network.
// Plain ES module with no dependencies: the same file runs in Node's tests.
//
// The same rules as tessera-jose: the key owns the algorithm (a header `alg`
// that does not fit the key's kty, crv, size or `alg` is refused), `zip` and
// `crit` are refused, sizes are capped before any work, a CBC-HMAC tag is
// compared in constant time before anything is decrypted, and every failure
// is a JweError with a message for people (never an uncaught exception).
import { b64urlToBytes, JwtError } from './jwt.js';

/** A JWE or key that cannot be used, with a message for people. */
export class JweError extends Error {
  constructor(message) {
    super(message);
    this.name = 'JweError';
  }
}

/** Key management algorithms the debugger decrypts, with the keys they need. */
export const KEY_ALGORITHMS = Object.freeze({
  'RSA-OAEP-256': { kty: 'RSA', hash: 'SHA-256' },
  'RSA-OAEP': { kty: 'RSA', hash: 'SHA-1' },
  'ECDH-ES': { kty: 'EC/OKP', wrapBytes: 0 },
  'ECDH-ES+A128KW': { kty: 'EC/OKP', wrapBytes: 16 },
  'ECDH-ES+A256KW': { kty: 'EC/OKP', wrapBytes: 32 },
  A128KW: { kty: 'oct', wrapBytes: 16 },
  A256KW: { kty: 'oct', wrapBytes: 32 },
  dir: { kty: 'oct' },
});

/** Content encryption algorithms: key length and, for CBC-HMAC, the HMAC hash. */
export const CONTENT_ALGORITHMS = Object.freeze({
  A128GCM: { keyBytes: 16, ivBytes: 12, tagBytes: 16 },
  A256GCM: { keyBytes: 32, ivBytes: 12, tagBytes: 16 },
  'A128CBC-HS256': { keyBytes: 32, ivBytes: 16, tagBytes: 16, hash: 'SHA-256' },
  'A256CBC-HS512': { keyBytes: 64, ivBytes: 16, tagBytes: 32, hash: 'SHA-512' },
});

/** Curves for ECDH-ES: WebCrypto parameters and shared-secret length in bits. */
export const CURVES = Object.freeze({
  'P-256': { kty: 'EC', params: { name: 'ECDH', namedCurve: 'P-256' }, bits: 256 },
  'P-384': { kty: 'EC', params: { name: 'ECDH', namedCurve: 'P-384' }, bits: 384 },
  X25519: { kty: 'OKP', params: { name: 'X25519' }, bits: 256 },
});

/** Longest JWE accepted, in characters (tessera issues under 8 KiB). */
export const MAX_JWE_LENGTH = 64 * 1024;
/** Longest key text accepted, in characters (an RSA-8192 private JWK is ~6 KiB). */
export const MAX_KEY_LENGTH = 32 * 1024;
/** Deepest JSON nesting accepted in a JWE header. */
const MAX_HEADER_DEPTH = 8;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw new JweError('WebCrypto is unavailable: browsers only offer it on HTTPS pages and on localhost');
  return s;
}

function bytes(segment, what) {
  try {
    return b64urlToBytes(segment, what);
  } catch (e) {
    throw new JweError(e instanceof JwtError ? e.message : String(e));
  }
}

function depth(v, d = 0) {
  if (d > MAX_HEADER_DEPTH) return d;
  if (!v || typeof v !== 'object') return d;
  let max = d;
  for (const x of Object.values(v)) max = Math.max(max, depth(x, d + 1));
  return max;
}

/** True when `input` has the shape of a compact JWE (five dot-separated parts). */
export function looksLikeJwe(input) {
  return String(input).trim().replace(/^Bearer\s+/i, '').split('.').length === 5;
}

/**
 * Splits and decodes a compact JWE; checks the header's shape but not the key.
 * Throws JweError when it is not a usable JWE.
 */
export function decodeJwe(input) {
  const token = String(input).trim().replace(/^Bearer\s+/i, '');
  if (token.length > MAX_JWE_LENGTH) throw new JweError(`the JWE is longer than ${MAX_JWE_LENGTH} characters`);
  if (/\s/.test(token)) throw new JweError('the token contains white space');
  const parts = token.split('.');
  if (parts.length !== 5) throw new JweError(`a compact JWE has five parts separated by dots; this has ${parts.length}`);
  const headerBytes = bytes(parts[0], 'protected header');
  let headerText;
  let header;
  try {
    headerText = utf8.decode(headerBytes);
    header = JSON.parse(headerText);
  } catch {
    throw new JweError('the protected header is not UTF-8 JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new JweError('the protected header is not a JSON object');
  if (depth(header) > MAX_HEADER_DEPTH) throw new JweError('the protected header is nested too deeply');
  const { alg, enc } = header;
  if (typeof alg !== 'string') throw new JweError('the header has no "alg"');
  if (typeof enc !== 'string') throw new JweError('the header has no "enc"');
  if (!own(KEY_ALGORITHMS, alg)) {
    throw new JweError(`unsupported key management "alg" ${JSON.stringify(alg)} (supported: ${Object.keys(KEY_ALGORITHMS).join(', ')})`);
  }
  if (!own(CONTENT_ALGORITHMS, enc)) {
    throw new JweError(`unsupported content encryption "enc" ${JSON.stringify(enc)} (supported: ${Object.keys(CONTENT_ALGORITHMS).join(', ')})`);
  }
  if (own(header, 'zip')) throw new JweError('"zip" (compression before encryption) is refused: compression leaks the plaintext through its length');
  if (own(header, 'crit')) throw new JweError('the header has "crit": no extension is understood here, so the JWE is refused');
  const c = CONTENT_ALGORITHMS[enc];
  const decoded = {
    token,
    parts,
    header,
    headerText,
    alg,
    enc,
    encryptedKey: bytes(parts[1], 'encrypted key'),
    iv: bytes(parts[2], 'initialization vector'),
    ciphertext: bytes(parts[3], 'ciphertext'),
    tag: bytes(parts[4], 'authentication tag'),
    aad: encoder.encode(parts[0]),
  };
  if (decoded.iv.length !== c.ivBytes) throw new JweError(`${enc} needs a ${c.ivBytes}-byte IV; this one has ${decoded.iv.length}`);
  if (decoded.tag.length !== c.tagBytes) throw new JweError(`${enc} needs a ${c.tagBytes}-byte tag; this one has ${decoded.tag.length}`);
  const direct = alg === 'dir' || alg === 'ECDH-ES';
  if (direct && decoded.encryptedKey.length > 0) throw new JweError(`with ${alg} the encrypted key must be empty`);
  if (!direct && decoded.encryptedKey.length === 0) throw new JweError(`${alg} needs an encrypted key; it is empty`);
  return decoded;
}

/**
 * Reads the pasted decryption key: a private JWK, or a JWKS (the key is then
 * picked by the JWE's `kid`, else the only key fitting its `alg`).
 * Returns the list of candidate JWKs.
 */
export function parsePrivateKeyText(text) {
  const t = String(text).trim();
  if (!t) throw new JweError('paste the private key (a JWK or a JWKS)');
  if (t.length > MAX_KEY_LENGTH) throw new JweError(`the key is longer than ${MAX_KEY_LENGTH} characters`);
  if (!t.startsWith('{')) throw new JweError('the decryption key must be a JWK or a JWKS (JSON); PEM is not read here');
  let v;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new JweError(`the key is not valid JSON (${e.message})`);
  }
  const keys = v && Array.isArray(v.keys) ? v.keys : v && typeof v.kty === 'string' ? [v] : null;
  if (!keys) throw new JweError('JSON keys are a JWK (with "kty") or a JWKS (with "keys")');
  const usable = keys.filter((k) => k && typeof k === 'object' && typeof k.kty === 'string');
  if (usable.length === 0) throw new JweError('the key set holds no key');
  return usable;
}

const ENCRYPTION_OPS = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'deriveKey', 'deriveBits'];

/** Why `jwk` cannot decrypt with `alg`/`enc`, or null when it fits. */
export function keyMisfit(jwk, alg, enc) {
  if (typeof jwk.alg === 'string' && jwk.alg !== alg) {
    // An "enc" name as the alg of an oct key means dir with that enc (RFC 7520 §5.6).
    const dirFor = jwk.kty === 'oct' && own(CONTENT_ALGORITHMS, jwk.alg);
    if (!dirFor) return `the key is for ${jwk.alg}; the JWE says ${alg}`;
    if (alg !== 'dir' || enc !== jwk.alg) return `the key is for dir with ${jwk.alg}; the JWE says ${alg} with ${enc}`;
  }
  if (jwk.use !== undefined && jwk.use !== 'enc') return `the key's "use" is ${JSON.stringify(jwk.use)}, not "enc"`;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.some((op) => ENCRYPTION_OPS.includes(op))) {
    return `the key's "key_ops" (${jwk.key_ops.join(', ')}) allow no decryption`;
  }
  const a = KEY_ALGORITHMS[alg];
  if (a.kty === 'RSA') {
    if (jwk.kty !== 'RSA') return `a ${jwk.kty} key cannot decrypt ${alg} (needs an RSA key)`;
  } else if (a.kty === 'EC/OKP') {
    if (jwk.kty !== 'EC' && jwk.kty !== 'OKP') return `a ${jwk.kty} key cannot decrypt ${alg} (needs an EC or OKP key)`;
    if (!own(CURVES, jwk.crv) || CURVES[jwk.crv].kty !== jwk.kty) {
      return `${alg} with curve ${JSON.stringify(jwk.crv)} is not supported here (P-256, P-384, X25519)`;
    }
  } else {
    if (jwk.kty !== 'oct') return `a ${jwk.kty} key cannot decrypt ${alg} (needs a symmetric "oct" key)`;
    let k;
    try {
      k = b64urlToBytes(typeof jwk.k === 'string' ? jwk.k : '', 'key "k"');
    } catch (e) {
      return e.message;
    }
    const need = alg === 'dir' ? CONTENT_ALGORITHMS[enc].keyBytes : a.wrapBytes;
    if (k.length !== need) return `${alg === 'dir' ? `dir with ${enc}` : alg} needs a ${need}-byte key; this one has ${k.length}`;
  }
  if (jwk.kty !== 'oct' && typeof jwk.d !== 'string') return 'this is a public key: decryption needs the private key (with "d")';
  return null;
}

/** Picks the key for this JWE from the candidates: by `kid` when it names one. */
export function selectKey(candidates, decoded) {
  const kid = typeof decoded.header.kid === 'string' ? decoded.header.kid : null;
  let pool = candidates;
  if (candidates.length > 1 && kid !== null) {
    pool = candidates.filter((k) => k.kid === kid);
    if (pool.length === 0) throw new JweError(`no key with kid ${JSON.stringify(kid)} in the key set`);
  }
  const reasons = [];
  const fits = pool.filter((k) => {
    const why = keyMisfit(k, decoded.alg, decoded.enc);
    if (why) reasons.push(why);
    return !why;
  });
  if (fits.length === 0) throw new JweError(reasons[0] ?? 'no usable key');
  if (fits.length > 1) throw new JweError(`${fits.length} keys fit ${decoded.alg}: give each a "kid" or paste one key`);
  return fits[0];
}

function concat(...arrays) {
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

function u32(n) {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

const lengthPrefixed = (b) => concat(u32(b.length), b);

/** Constant-time equality of two byte strings of public length. */
export function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * The Concat KDF of NIST SP 800-56A as profiled by RFC 7518 §4.6.2 (SHA-256):
 * `keyBytes` of key from the shared secret `z`.
 */
export async function concatKdf(z, keyBytes, algorithmId, apu, apv) {
  const otherInfo = concat(
    lengthPrefixed(encoder.encode(algorithmId)),
    lengthPrefixed(apu),
    lengthPrefixed(apv),
    u32(keyBytes * 8),
  );
  const rounds = Math.ceil(keyBytes / 32);
  const out = new Uint8Array(rounds * 32);
  for (let i = 1; i <= rounds; i++) {
    const digest = await subtle().digest('SHA-256', concat(u32(i), z, otherInfo));
    out.set(new Uint8Array(digest), (i - 1) * 32);
  }
  return out.slice(0, keyBytes);
}

/** A JWK stripped of members WebCrypto would check against its own (alg, use, key_ops). */
function forImport(jwk) {
  const { alg: _a, use: _u, key_ops: _k, ext: _e, kid: _i, ...clean } = jwk;
  return clean;
}

async function importOrExplain(format, data, params, usages, what) {
  try {
    return await subtle().importKey(format, data, params, false, usages);
  } catch (e) {
    if (e && e.name === 'NotSupportedError') throw new JweError(`this browser's WebCrypto does not support ${params.name}${params.namedCurve ? ` ${params.namedCurve}` : ''}`);
    throw new JweError(`${what} cannot be used: ${e && e.message ? e.message : e}`);
  }
}

/** Unwraps an AES key-wrapped CEK (RFC 3394) with a raw KEK. */
export async function aesUnwrap(kekBytes, wrapped, cekBytes) {
  if (wrapped.length !== cekBytes + 8) throw new JweError(`the encrypted key has ${wrapped.length} bytes; ${cekBytes + 8} were expected`);
  const kek = await importOrExplain('raw', kekBytes, { name: 'AES-KW' }, ['unwrapKey'], 'the key-wrapping key');
  let cek;
  try {
    // Unwrapped as an extractable HMAC key only to read its raw bytes back.
    cek = await subtle().unwrapKey('raw', wrapped, kek, { name: 'AES-KW' }, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
  } catch {
    throw new JweError('decryption failed: the key does not unwrap the content key (wrong key, or the JWE was altered)');
  }
  return new Uint8Array(await subtle().exportKey('raw', cek));
}

/** The ECDH-ES shared secret Z between the private JWK and the header's `epk`. */
async function ecdhSecret(jwk, header) {
  const epk = header.epk;
  if (!epk || typeof epk !== 'object' || Array.isArray(epk)) throw new JweError('ECDH-ES needs an ephemeral public key ("epk") in the header');
  if (epk.kty !== jwk.kty || epk.crv !== jwk.crv) {
    throw new JweError(`the header's "epk" (${epk.kty} ${epk.crv}) is not on the key's curve (${jwk.kty} ${jwk.crv})`);
  }
  if (own(epk, 'd')) throw new JweError('the header\'s "epk" holds a private key');
  const curve = CURVES[jwk.crv];
  const pub = jwk.kty === 'EC' ? { kty: 'EC', crv: epk.crv, x: epk.x, y: epk.y } : { kty: 'OKP', crv: epk.crv, x: epk.x };
  // Import checks that an EC point is on the curve.
  const epkKey = await importOrExplain('jwk', pub, curve.params, [], 'the header\'s "epk"');
  const priv = await importOrExplain('jwk', forImport(jwk), curve.params, ['deriveBits'], 'the private key');
  let z;
  try {
    z = new Uint8Array(await subtle().deriveBits({ name: curve.params.name, public: epkKey }, priv, curve.bits));
  } catch (e) {
    throw new JweError(`key agreement failed: ${e && e.message ? e.message : e}`);
  }
  if (z.every((b) => b === 0)) throw new JweError('key agreement gave an all-zero secret: the "epk" is a low-order point');
  return z;
}

function partyInfo(header, name) {
  if (!own(header, name)) return new Uint8Array(0);
  if (typeof header[name] !== 'string') throw new JweError(`"${name}" is not a base64url string`);
  return bytes(header[name], `"${name}"`);
}

/** The content encryption key, from the JWK and the JWE's header and encrypted key. */
async function contentKey(jwk, decoded) {
  const { alg, enc, header, encryptedKey } = decoded;
  const cekBytes = CONTENT_ALGORITHMS[enc].keyBytes;
  if (alg === 'dir') return b64urlToBytes(jwk.k, 'key "k"');
  if (alg === 'A128KW' || alg === 'A256KW') return aesUnwrap(b64urlToBytes(jwk.k, 'key "k"'), encryptedKey, cekBytes);
  if (alg.startsWith('RSA-OAEP')) {
    const params = { name: 'RSA-OAEP', hash: KEY_ALGORITHMS[alg].hash };
    const key = await importOrExplain('jwk', forImport(jwk), params, ['decrypt'], 'the RSA private key');
    let cek;
    try {
      cek = new Uint8Array(await subtle().decrypt({ name: 'RSA-OAEP' }, key, encryptedKey));
    } catch {
      throw new JweError('decryption failed: the RSA key does not decrypt the content key (wrong key, or the JWE was altered)');
    }
    if (cek.length !== cekBytes) throw new JweError(`the content key has ${cek.length} bytes; ${enc} needs ${cekBytes}`);
    return cek;
  }
  // ECDH-ES, direct or with key wrap.
  const z = await ecdhSecret(jwk, header);
  const apu = partyInfo(header, 'apu');
  const apv = partyInfo(header, 'apv');
  if (alg === 'ECDH-ES') return concatKdf(z, cekBytes, enc, apu, apv);
  const kek = await concatKdf(z, KEY_ALGORITHMS[alg].wrapBytes, alg, apu, apv);
  return aesUnwrap(kek, encryptedKey, cekBytes);
}

const TAMPERED = 'decryption failed: the authentication tag does not match (wrong key, or the JWE was altered)';

/** AES-GCM or AES-CBC + HMAC-SHA-2 (RFC 7518 §5.2) content decryption. */
export async function decryptContent(enc, cek, iv, ciphertext, tag, aad) {
  const c = CONTENT_ALGORITHMS[enc];
  if (cek.length !== c.keyBytes) throw new JweError(`${enc} needs a ${c.keyBytes}-byte key; this one has ${cek.length}`);
  if (!c.hash) {
    const key = await importOrExplain('raw', cek, { name: 'AES-GCM' }, ['decrypt'], 'the content key');
    try {
      const pt = await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, key, concat(ciphertext, tag));
      return new Uint8Array(pt);
    } catch {
      throw new JweError(TAMPERED);
    }
  }
  const half = c.keyBytes / 2;
  const macKey = await importOrExplain('raw', cek.slice(0, half), { name: 'HMAC', hash: c.hash }, ['sign'], 'the MAC key');
  const al = new Uint8Array(8);
  new DataView(al.buffer).setBigUint64(0, BigInt(aad.length) * 8n, false);
  const mac = new Uint8Array(await subtle().sign('HMAC', macKey, concat(aad, iv, ciphertext, al)));
  // The tag is checked, in constant time, before anything is decrypted.
  if (!constantTimeEqual(mac.subarray(0, c.tagBytes), tag)) throw new JweError(TAMPERED);
  const encKey = await importOrExplain('raw', cek.slice(half), { name: 'AES-CBC' }, ['decrypt'], 'the encryption key');
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-CBC', iv }, encKey, ciphertext));
  } catch {
    throw new JweError('decryption failed: bad padding after a valid tag');
  }
}

/**
 * Decrypts a decoded JWE with the candidate JWKs from `parsePrivateKeyText`.
 * Resolves to `{plaintext, text, nested, kid}`: `text` is the plaintext as
 * UTF-8 (or null), `nested` is true when `cty` says it is a JWT. Rejects only
 * with JweError.
 */
export async function decryptJwe(decoded, candidates) {
  try {
    const jwk = selectKey(candidates, decoded);
    const cek = await contentKey(jwk, decoded);
    const plaintext = await decryptContent(decoded.enc, cek, decoded.iv, decoded.ciphertext, decoded.tag, decoded.aad);
    let text = null;
    try {
      text = utf8.decode(plaintext);
    } catch {
      // binary plaintext
    }
    const cty = typeof decoded.header.cty === 'string' ? decoded.header.cty : '';
    const nested = /^(application\/)?jwt$/i.test(cty);
    return { plaintext, text, nested, kid: typeof jwk.kid === 'string' ? jwk.kid : null };
  } catch (e) {
    if (e instanceof JweError) throw e;
    if (e instanceof JwtError) throw new JweError(e.message);
    throw new JweError(`decryption failed: ${e && e.message ? e.message : e}`);
  }
}

/** One line for the page: what this debugger can decrypt. */
export function supportedSummary() {
  return `alg ${Object.keys(KEY_ALGORITHMS).join(', ')} (EC keys on ${Object.keys(CURVES).join(', ')}); enc ${Object.keys(CONTENT_ALGORITHMS).join(', ')}`;
}
