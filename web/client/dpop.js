// DPoP (RFC 9449) for @tessera/client: proofs signed by a P-256 key that
// never leaves the browser as bytes.
//
// - The key pair is made by WebCrypto with a non-extractable private key and
//   kept in IndexedDB (a CryptoKey is stored as the object itself, so it
//   survives reloads and is shared by the app's tabs, but cannot be read
//   out). Tabs that start at once agree on one key: each makes a candidate,
//   and one IndexedDB transaction keeps whichever was stored first.
// - A proof is a JWT `{typ: "dpop+jwt", alg: "ES256", jwk}` over `{jti, htm,
//   htu, iat}`, plus `ath` (the access token's SHA-256) on resource requests
//   and the server's latest `DPoP-Nonce` when it sent one.

const DB_NAME = 'tessera-dpop';
const STORE = 'keys';
const KEY_PARAMS = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_PARAMS = { name: 'ECDSA', hash: 'SHA-256' };

const encoder = new TextEncoder();

/** base64url without padding. */
export function b64url(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (let i = 0; i < view.length; i += 0x8000) {
    s += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const b64json = (value) => b64url(encoder.encode(JSON.stringify(value)));

/** A key store in memory only (tests, or a page that wants a key per load). */
export function memoryKeyStore() {
  const keys = new Map();
  return {
    async loadOrStore(name, candidate) {
      if (!keys.has(name)) keys.set(name, candidate);
      return keys.get(name);
    },
    async clear(name) {
      keys.delete(name);
    },
  };
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * The default key store: IndexedDB database `tessera-dpop`, one key pair per
 * client name.
 * @param {IDBFactory} [idb]
 */
export function indexedDbKeyStore(idb = globalThis.indexedDB) {
  let db = null;
  const open = async () => {
    if (db) return db;
    if (!idb) throw new Error('DPoP needs IndexedDB to keep its key');
    const req = idb.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    db = await request(req);
    return db;
  };
  const transact = async (fn) => {
    const tx = (await open()).transaction(STORE, 'readwrite');
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    const out = fn(tx.objectStore(STORE));
    await done;
    return out.value;
  };
  return {
    // One transaction reads and, if empty, writes: racing tabs keep one key.
    loadOrStore: (name, candidate) =>
      transact((store) => {
        const out = { value: candidate };
        const get = store.get(name);
        get.onsuccess = () => {
          const found = get.result;
          if (found && found.privateKey && found.publicKey) out.value = found;
          else store.put(candidate, name);
        };
        return out;
      }),
    clear: (name) =>
      transact((store) => {
        store.delete(name);
        return { value: undefined };
      }),
  };
}

/** RFC 7638 thumbprint of a P-256 public JWK (what Tessera puts in `cnf.jkt`). */
export async function thumbprint(jwk, subtle = globalThis.crypto.subtle) {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return b64url(await subtle.digest('SHA-256', encoder.encode(canonical)));
}

/** `htu`: the request URL without query and fragment (RFC 9449 §4.2). */
export function htuOf(url, base) {
  const u = new URL(url, base);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Signs DPoP proofs with one key pair, and remembers servers' nonces. */
export class DpopSigner {
  constructor(pair, jwk, jkt, subtle) {
    this._pair = pair;
    this.jwk = jwk;
    /** The key's RFC 7638 thumbprint. */
    this.jkt = jkt;
    this._subtle = subtle;
    this._nonces = new Map(); // origin -> latest DPoP-Nonce
  }

  /**
   * Loads the key named `name` from `keyStore` (making it on first use).
   * @param {{name: string, keyStore?: object, subtle?: SubtleCrypto}} options
   */
  static async open({ name, keyStore = indexedDbKeyStore(), subtle = globalThis.crypto?.subtle }) {
    if (!subtle) throw new Error('DPoP needs WebCrypto (a secure context)');
    const candidate = await subtle.generateKey(KEY_PARAMS, false, ['sign', 'verify']);
    const pair = await keyStore.loadOrStore(name, {
      privateKey: candidate.privateKey,
      publicKey: candidate.publicKey,
    });
    const full = await subtle.exportKey('jwk', pair.publicKey);
    const jwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
    return new DpopSigner(pair, jwk, await thumbprint(jwk, subtle), subtle);
  }

  /** Remembers the `DPoP-Nonce` of an answer from `url`'s origin. */
  noteNonce(url, base, res) {
    const nonce = res && res.headers && res.headers.get('DPoP-Nonce');
    if (nonce) this._nonces.set(new URL(url, base).origin, nonce);
    return Boolean(nonce);
  }

  /**
   * A proof for `method url`, bound to `accessToken` when given.
   * @param {string} method
   * @param {string} url
   * @param {{base?: string, accessToken?: string | null, nowMs?: number}} [opts]
   */
  async proof(method, url, opts = {}) {
    const base = opts.base;
    const payload = {
      jti: b64url(globalThis.crypto.getRandomValues(new Uint8Array(18))),
      htm: method.toUpperCase(),
      htu: htuOf(url, base),
      iat: Math.floor((opts.nowMs ?? Date.now()) / 1000),
    };
    const nonce = this._nonces.get(new URL(url, base).origin);
    if (nonce) payload.nonce = nonce;
    if (opts.accessToken) {
      payload.ath = b64url(await this._subtle.digest('SHA-256', encoder.encode(opts.accessToken)));
    }
    const input = `${b64json({ typ: 'dpop+jwt', alg: 'ES256', jwk: this.jwk })}.${b64json(payload)}`;
    // WebCrypto's ECDSA signature is r || s, which is exactly JWS's ES256 form.
    const sig = await this._subtle.sign(SIGN_PARAMS, this._pair.privateKey, encoder.encode(input));
    return `${input}.${b64url(sig)}`;
  }
}

/** True when an answer asks for a (new) nonce: 400 `use_dpop_nonce` at the token endpoint, 401 with the challenge at a resource. */
export async function asksForNonce(res) {
  if (res.status === 401) {
    const www = res.headers.get('WWW-Authenticate') || '';
    return /error="use_dpop_nonce"/.test(www);
  }
  if (res.status !== 400) return false;
  try {
    const body = await res.clone().json();
    return body && body.error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}
