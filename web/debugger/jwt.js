// JWT decoding, inspection and signature verification for the debugger.
// Runs entirely in the page (WebCrypto); nothing here touches the network.
// Plain ES module with no dependencies: the same file runs in Node's tests.

/** A token or key that cannot be used, with a message for people. */
export class JwtError extends Error {
  constructor(message) {
    super(message);
    this.name = 'JwtError';
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUES = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64_ALPHABET.charCodeAt(i)] = i;
  t['+'.charCodeAt(0)] = 62; // standard alphabet, for PEM bodies
  t['/'.charCodeAt(0)] = 63;
  return t;
})();

/** Decodes base64url (or, with `standard`, base64 with padding) into bytes. */
export function b64urlToBytes(text, what = 'segment', standard = false) {
  let s = String(text);
  if (standard) s = s.replace(/\s+/g, '').replace(/=+$/, '');
  else if (!B64URL.test(s)) throw new JwtError(`the ${what} is not base64url (it has characters outside A–Z a–z 0–9 - _)`);
  if (s.length % 4 === 1) throw new JwtError(`the ${what} has an impossible base64url length`);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_VALUES[c] : -1;
    if (v < 0) throw new JwtError(`the ${what} is not valid base64`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

/** Encodes bytes as base64url without padding. */
export function bytesToB64url(bytes) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64_ALPHABET[n >> 18] + B64_ALPHABET[(n >> 12) & 63] + B64_ALPHABET[(n >> 6) & 63] + B64_ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64_ALPHABET[n >> 18] + B64_ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64_ALPHABET[n >> 18] + B64_ALPHABET[(n >> 12) & 63] + B64_ALPHABET[(n >> 6) & 63];
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function jsonPart(segment, what) {
  const bytes = b64urlToBytes(segment, what);
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JwtError(`the ${what} is not UTF-8`);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { text, value: undefined, error: `the ${what} is not JSON (${e.message})` };
  }
  return { text, value, error: null };
}

/**
 * Splits and decodes a compact JWS. Throws JwtError when it is not one.
 * The payload may be non-JSON (it is then returned as text with `payloadError`).
 */
export function decodeJwt(input) {
  const token = String(input).trim().replace(/^Bearer\s+/i, '');
  if (!token) throw new JwtError('paste a token');
  if (/\s/.test(token)) throw new JwtError('the token contains white space');
  const parts = token.split('.');
  if (parts.length === 5) throw new JwtError('this is an encrypted JWT (JWE, five parts): it cannot be decoded without the key');
  if (parts.length !== 3) throw new JwtError(`a JWT has three parts separated by dots; this has ${parts.length}`);
  const header = jsonPart(parts[0], 'header');
  if (header.error) throw new JwtError(header.error);
  if (!header.value || typeof header.value !== 'object' || Array.isArray(header.value)) {
    throw new JwtError('the header is not a JSON object');
  }
  const payload = jsonPart(parts[1], 'payload');
  const signature = b64urlToBytes(parts[2], 'signature');
  return {
    token,
    parts,
    header: header.value,
    headerText: header.text,
    payload: payload.value,
    payloadText: payload.text,
    payloadError:
      payload.error ?? (payload.value && typeof payload.value === 'object' && !Array.isArray(payload.value) ? null : 'the payload is not a JSON object'),
    signature,
    signingInput: encoder.encode(`${parts[0]}.${parts[1]}`),
  };
}

const UNITS = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** "in 5 minutes" / "3 hours ago" for a difference in seconds (positive = future). */
export function relativeTime(diff) {
  const abs = Math.abs(diff);
  const [unit, size] = UNITS.find(([, s]) => abs >= s) ?? ['second', 1];
  const n = Math.round(diff / size);
  if (typeof Intl !== 'undefined' && Intl.RelativeTimeFormat) {
    return new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(n, unit);
  }
  const word = Math.abs(n) === 1 ? unit : `${unit}s`;
  return n >= 0 ? `in ${Math.abs(n)} ${word}` : `${Math.abs(n)} ${word} ago`;
}

/** A duration in seconds as "15 minutes", "30 days"… */
export function duration(seconds) {
  const abs = Math.abs(seconds);
  const [unit, size] = UNITS.find(([, s]) => abs >= s) ?? ['second', 1];
  const n = Math.round((abs / size) * 10) / 10;
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

const isTime = (v) => typeof v === 'number' && Number.isFinite(v);

/**
 * The time claims (`exp`, `nbf`, `iat`) as people read them, relative to
 * `now` (Unix seconds): each with `date` (ISO, UTC), `relative`, `state`
 * (`expired`, `valid`, `not-yet-valid`, `issued`, `future`, `invalid`) and `note`.
 */
export function timeClaims(payload, now) {
  const out = [];
  if (!payload || typeof payload !== 'object') return out;
  for (const name of ['exp', 'nbf', 'iat']) {
    if (!(name in payload)) continue;
    const v = payload[name];
    if (!isTime(v)) {
      out.push({ name, value: v, date: '', relative: '', state: 'invalid', note: 'not a number of seconds' });
      continue;
    }
    const date = new Date(v * 1000);
    const iso = Number.isNaN(date.getTime()) ? '' : date.toISOString().replace('.000Z', 'Z');
    const relative = relativeTime(v - now);
    let state;
    let note;
    if (name === 'exp') {
      state = v <= now ? 'expired' : 'valid';
      note = state === 'expired' ? `expired ${relative}` : `expires ${relative}`;
    } else if (name === 'nbf') {
      state = v > now ? 'not-yet-valid' : 'valid';
      note = state === 'not-yet-valid' ? `not valid until ${relative}` : `valid since ${relative}`;
    } else {
      state = v > now + 60 ? 'future' : 'issued';
      note = state === 'future' ? `issued in the future (${relative})` : `issued ${relative}`;
    }
    out.push({ name, value: v, date: iso, relative, state, note });
  }
  return out;
}

/** Hash output size in bytes of the HS/RS/PS/ES family member. */
const HASH_BYTES = { 256: 32, 384: 48, 512: 64 };

/** The longest lifetime (exp − iat) the debugger considers ordinary: one day. */
export const LONG_LIFETIME = 86400;

/**
 * Risky properties of a token: `{code, level ('danger'|'warn'|'info'), message}`.
 * `opts.secretBytes` is the HMAC secret's length when one is being used.
 */
export function warnings(decoded, { now, secretBytes } = {}) {
  const out = [];
  const h = decoded.header;
  const p = decoded.payload && typeof decoded.payload === 'object' ? decoded.payload : null;
  const alg = typeof h.alg === 'string' ? h.alg : '';
  if (!alg) out.push({ code: 'alg-missing', level: 'danger', message: 'The header has no "alg".' });
  if (alg.toLowerCase() === 'none') {
    out.push({ code: 'alg-none', level: 'danger', message: 'alg "none": the token is unsigned. Anyone can forge it; a verifier must refuse it.' });
  }
  if (/^HS(256|384|512)$/.test(alg)) {
    const need = HASH_BYTES[alg.slice(2)];
    if (typeof secretBytes === 'number' && secretBytes < need) {
      out.push({
        code: 'hs-short-secret',
        level: 'danger',
        message: `${alg} with a ${secretBytes}-byte secret: RFC 7518 §3.2 requires at least ${need} bytes; a short secret can be brute-forced offline from any token.`,
      });
    } else {
      out.push({ code: 'hs-shared', level: 'info', message: `${alg} is symmetric: whoever can verify the token can also sign one.` });
    }
  }
  for (const member of ['jku', 'jwk', 'x5u', 'x5c']) {
    if (member in h) {
      out.push({
        code: `header-${member}`,
        level: 'danger',
        message: `The header carries "${member}": the token names its own key. A verifier that trusts it accepts forgeries; keys must come from configuration.`,
      });
    }
  }
  if (typeof h.kid === 'string' && /(\.\.|[/\\'";]|\0)/.test(h.kid)) {
    out.push({ code: 'kid-suspicious', level: 'warn', message: `"kid" looks like a path or a query (${JSON.stringify(h.kid)}); verifiers must not use it as one.` });
  }
  if ('crit' in h) out.push({ code: 'crit', level: 'warn', message: 'The header has "crit": verifiers must refuse extensions they do not understand.' });
  if (decoded.payloadError) out.push({ code: 'payload-not-json', level: 'warn', message: `${decoded.payloadError}.` });
  if (p) {
    if (!('exp' in p)) out.push({ code: 'no-exp', level: 'warn', message: 'No "exp": the token never expires.' });
    if (!('aud' in p)) out.push({ code: 'no-aud', level: 'warn', message: 'No "aud": any service that trusts the issuer would accept this token (confused deputy).' });
    if (isTime(p.exp)) {
      const start = isTime(p.iat) ? p.iat : isTime(p.nbf) ? p.nbf : now;
      if (isTime(start) && p.exp - start > LONG_LIFETIME) {
        out.push({
          code: 'long-lifetime',
          level: 'warn',
          message: `Long lifetime: ${duration(p.exp - start)}. A stolen bearer token stays usable that long; access tokens usually live minutes.`,
        });
      }
    }
  }
  return out;
}

/** WebCrypto parameters for each JWS algorithm: import, verify, signature length. */
export const ALGORITHMS = Object.freeze({
  HS256: { kind: 'hmac', importParams: { name: 'HMAC', hash: 'SHA-256' }, verifyParams: { name: 'HMAC' } },
  HS384: { kind: 'hmac', importParams: { name: 'HMAC', hash: 'SHA-384' }, verifyParams: { name: 'HMAC' } },
  HS512: { kind: 'hmac', importParams: { name: 'HMAC', hash: 'SHA-512' }, verifyParams: { name: 'HMAC' } },
  RS256: { kind: 'RSA', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyParams: { name: 'RSASSA-PKCS1-v1_5' } },
  RS384: { kind: 'RSA', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, verifyParams: { name: 'RSASSA-PKCS1-v1_5' } },
  RS512: { kind: 'RSA', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, verifyParams: { name: 'RSASSA-PKCS1-v1_5' } },
  PS256: { kind: 'RSA', importParams: { name: 'RSA-PSS', hash: 'SHA-256' }, verifyParams: { name: 'RSA-PSS', saltLength: 32 } },
  PS384: { kind: 'RSA', importParams: { name: 'RSA-PSS', hash: 'SHA-384' }, verifyParams: { name: 'RSA-PSS', saltLength: 48 } },
  PS512: { kind: 'RSA', importParams: { name: 'RSA-PSS', hash: 'SHA-512' }, verifyParams: { name: 'RSA-PSS', saltLength: 64 } },
  ES256: { kind: 'EC', crv: 'P-256', sigBytes: 64, importParams: { name: 'ECDSA', namedCurve: 'P-256' }, verifyParams: { name: 'ECDSA', hash: 'SHA-256' } },
  ES384: { kind: 'EC', crv: 'P-384', sigBytes: 96, importParams: { name: 'ECDSA', namedCurve: 'P-384' }, verifyParams: { name: 'ECDSA', hash: 'SHA-384' } },
  ES512: { kind: 'EC', crv: 'P-521', sigBytes: 132, importParams: { name: 'ECDSA', namedCurve: 'P-521' }, verifyParams: { name: 'ECDSA', hash: 'SHA-512' } },
  EdDSA: { kind: 'OKP', crv: 'Ed25519', sigBytes: 64, importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } },
  Ed25519: { kind: 'OKP', crv: 'Ed25519', sigBytes: 64, importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } },
});

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new JwtError('WebCrypto is unavailable: browsers only offer it on HTTPS pages and on localhost');
  }
  return s;
}

// ---- PEM and a little DER, enough to find a public key.

/** The PEM blocks in `text`: `[{label, der}]`. */
export function pemBlocks(text) {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  const out = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ label: m[1], der: b64urlToBytes(m[2], 'PEM body', true) });
  }
  return out;
}

function derRead(bytes, at) {
  if (at + 2 > bytes.length) throw new JwtError('truncated DER');
  const tag = bytes[at];
  let len = bytes[at + 1];
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || at + 2 + n > bytes.length) throw new JwtError('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | bytes[at + 2 + i];
    head += n;
  }
  const end = at + head + len;
  if (end > bytes.length) throw new JwtError('truncated DER');
  return { tag, start: at, body: at + head, end };
}

function derChildren(bytes, node) {
  const out = [];
  for (let at = node.body; at < node.end; ) {
    const child = derRead(bytes, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

function derLength(n) {
  if (n < 0x80) return [n];
  const bytes = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function derWrap(tag, body) {
  return Uint8Array.from([tag, ...derLength(body.length), ...body]);
}

/** SubjectPublicKeyInfo from an X.509 certificate (DER). */
export function spkiFromCertificate(der) {
  const cert = derRead(der, 0);
  const [tbs] = derChildren(der, cert);
  if (!tbs) throw new JwtError('not a certificate');
  const fields = derChildren(der, tbs);
  const offset = fields[0] && fields[0].tag === 0xa0 ? 1 : 0; // [0] version
  const spki = fields[offset + 5];
  if (!spki || spki.tag !== 0x30) throw new JwtError('no public key in the certificate');
  return der.slice(spki.start, spki.end);
}

/** SubjectPublicKeyInfo for a PKCS#1 `RSA PUBLIC KEY`. */
export function spkiFromPkcs1(der) {
  // AlgorithmIdentifier { rsaEncryption, NULL }
  const algId = Uint8Array.from([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
  const bitString = derWrap(0x03, Uint8Array.from([0x00, ...der]));
  return derWrap(0x30, Uint8Array.from([...algId, ...bitString]));
}

/**
 * Reads key text as typed by a person: a JWKS, a JWK, or a PEM public key
 * (SPKI, PKCS#1 RSA, or a certificate). Private keys are refused.
 */
export function parseKeyText(text) {
  const t = String(text).trim();
  if (!t) throw new JwtError('paste a key');
  if (t.startsWith('{')) {
    let v;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new JwtError(`the key is not valid JSON (${e.message})`);
    }
    if (Array.isArray(v.keys)) return { kind: 'jwks', jwks: v };
    if (typeof v.kty === 'string') {
      if ('d' in v) throw new JwtError('this JWK holds a private key ("d"): paste only the public part');
      return { kind: 'jwk', jwk: v };
    }
    throw new JwtError('JSON keys are a JWK (with "kty") or a JWKS (with "keys")');
  }
  const blocks = pemBlocks(t);
  if (blocks.length === 0) throw new JwtError('the key is neither JSON (JWK, JWKS) nor PEM');
  const b = blocks[0];
  if (/PRIVATE KEY/.test(b.label)) throw new JwtError('this is a private key: paste the public key');
  if (b.label === 'PUBLIC KEY') return { kind: 'spki', der: b.der };
  if (b.label === 'RSA PUBLIC KEY') return { kind: 'spki', der: spkiFromPkcs1(b.der) };
  if (b.label === 'CERTIFICATE') return { kind: 'spki', der: spkiFromCertificate(b.der) };
  throw new JwtError(`unsupported PEM block "${b.label}"`);
}

function algOf(decoded) {
  const alg = decoded.header.alg;
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none') return null;
  return Object.prototype.hasOwnProperty.call(ALGORITHMS, alg) ? alg : undefined;
}

function jwkFits(jwk, alg) {
  const a = ALGORITHMS[alg];
  if (typeof jwk.alg === 'string' && jwk.alg !== alg) return `the key is for ${jwk.alg}, the token uses ${alg}`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return `the key's "use" is ${JSON.stringify(jwk.use)}, not "sig"`;
  if (a.kind === 'hmac' ? jwk.kty !== 'oct' : jwk.kty !== a.kind) return `a ${jwk.kty} key cannot verify ${alg}`;
  if (a.crv && jwk.crv !== a.crv) return `a ${jwk.crv} key cannot verify ${alg} (needs ${a.crv})`;
  return null;
}

async function verifyWith(key, alg, decoded) {
  const a = ALGORITHMS[alg];
  if (a.sigBytes && decoded.signature.length !== a.sigBytes) return false;
  return subtle().verify(a.verifyParams, key, decoded.signature, decoded.signingInput);
}

async function importJwk(jwk, alg) {
  const a = ALGORITHMS[alg];
  const { key_ops: _ops, ext: _ext, ...clean } = jwk;
  if (a.kind === 'OKP' && clean.alg === 'EdDSA') delete clean.alg;
  try {
    return await subtle().importKey('jwk', clean, a.importParams, false, ['verify']);
  } catch (e) {
    throw new JwtError(`the JWK cannot be imported for ${alg}: ${e.message}`);
  }
}

/**
 * Verifies a decoded token's signature. `source` is one of:
 * `{kind: 'jwks', jwks}`, `{kind: 'jwk', jwk}`, `{kind: 'spki', der}`,
 * `{kind: 'secret', secret: Uint8Array}`.
 * Resolves to `{state: 'valid'|'invalid'|'error', message, kid?}`.
 */
export async function verifyJwt(decoded, source) {
  const alg = algOf(decoded);
  if (alg === null) return { state: 'invalid', message: 'The token is unsigned (alg "none"): never valid.' };
  if (alg === undefined) return { state: 'error', message: `Unsupported algorithm ${JSON.stringify(decoded.header.alg)}.` };
  const a = ALGORITHMS[alg];
  try {
    if (source.kind === 'secret') {
      if (a.kind !== 'hmac') return { state: 'error', message: `${alg} is verified with a public key, not a secret.` };
      if (!source.secret || source.secret.length === 0) return { state: 'error', message: 'Enter the secret.' };
      const key = await subtle().importKey('raw', source.secret, a.importParams, false, ['verify']);
      return (await verifyWith(key, alg, decoded))
        ? { state: 'valid', message: `Signature verified (${alg}, shared secret).` }
        : { state: 'invalid', message: 'Invalid signature: it does not match this secret.' };
    }
    if (a.kind === 'hmac') return { state: 'error', message: `${alg} is verified with the shared secret, not a public key.` };
    if (source.kind === 'spki') {
      let key;
      try {
        key = await subtle().importKey('spki', source.der, a.importParams, false, ['verify']);
      } catch (e) {
        return { state: 'error', message: `The PEM key cannot verify ${alg}: ${e.message}` };
      }
      return (await verifyWith(key, alg, decoded))
        ? { state: 'valid', message: `Signature verified (${alg}, PEM public key).` }
        : { state: 'invalid', message: 'Invalid signature: it does not match this public key.' };
    }
    const keys = source.kind === 'jwks' ? source.jwks.keys : [source.jwk];
    const kid = typeof decoded.header.kid === 'string' ? decoded.header.kid : null;
    let candidates = keys.filter((k) => k && typeof k === 'object');
    if (source.kind === 'jwks' && kid !== null) {
      candidates = candidates.filter((k) => k.kid === kid);
      if (candidates.length === 0) return { state: 'error', message: `No key with kid ${JSON.stringify(kid)} in the key set.` };
    }
    const reasons = [];
    for (const jwk of candidates) {
      const misfit = jwkFits(jwk, alg);
      if (misfit) {
        reasons.push(misfit);
        continue;
      }
      const key = await importJwk(jwk, alg);
      if (await verifyWith(key, alg, decoded)) {
        const which = jwk.kid ? ` kid ${jwk.kid}` : '';
        return { state: 'valid', message: `Signature verified (${alg},${which || ' JWK'}).`, kid: jwk.kid };
      }
      reasons.push('signature mismatch');
    }
    if (reasons.length > 0 && reasons.every((r) => r !== 'signature mismatch')) {
      return { state: 'error', message: `No usable key: ${reasons[0]}.` };
    }
    if (reasons.length === 0) return { state: 'error', message: 'The key set is empty.' };
    return { state: 'invalid', message: 'Invalid signature: it does not match the key.' };
  } catch (e) {
    return { state: 'error', message: e instanceof JwtError ? e.message : `Verification failed: ${e.message}` };
  }
}

/** The bytes of an HMAC secret as typed: UTF-8 text, or base64(url) when `encoded`. */
export function secretBytes(text, encoded) {
  // Encoded secrets may use either alphabet (base64url or base64), padded or not.
  return encoded ? b64urlToBytes(String(text).trim(), 'secret', true) : encoder.encode(String(text));
}
