// DPoP in @tessera/client, against the fake Tessera behind a strict DPoP
// checker written from RFC 9449 §4.3 (signature by the embedded key, typ,
// alg, htm, htu, iat, jti once, ath, nonce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TesseraClient } from '../tessera-client.js';
import { memoryKeyStore, thumbprint, htuOf, b64url, DpopSigner } from '../dpop.js';
import { FakeClock, FakeTessera } from './fake-server.js';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const ORIGIN = 'http://tessera.test';
const subtle = globalThis.crypto.subtle;
const dec = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** The fake Tessera, checking DPoP proofs the way the real one does. */
class DpopTessera extends FakeTessera {
  constructor(opts = {}) {
    super(opts);
    this.requireNonce = opts.requireNonce ?? false;
    this.nonce = 'n-1';
    this.seen = new Set();
    this.bound = new Map(); // sid -> jkt
    this.proofs = []; // every verified proof: { header, payload, jkt }
    this.refusals = []; // every answer of the DPoP checks: { path, code }
    const inner = this.fetch;
    this.fetch = async (input, init = {}) => {
      const url = new URL(typeof input === 'string' ? input : input.url, ORIGIN);
      const headers = new Headers(init.headers);
      const method = init.method ?? 'GET';
      let proof = null;
      if (headers.has('dpop')) {
        proof = await this.check(headers.get('dpop'), method, url, headers.get('authorization'));
        if (typeof proof === 'string') return this.refuse(url.pathname, proof);
      }
      if (this.requireNonce && proof && proof.payload.nonce !== this.nonce) {
        return this.refuse(url.pathname, 'use_dpop_nonce');
      }
      const auth = headers.get('authorization') ?? '';
      if (auth.startsWith('DPoP ')) {
        const token = auth.slice(5);
        const at = this.access.get(token);
        if (!proof || !at || this.bound.get(at.sid) !== proof.jkt) return this.refuse(url.pathname, 'invalid_token');
        headers.set('authorization', `Bearer ${token}`);
      } else if (auth.startsWith('Bearer ')) {
        const at = this.access.get(auth.slice(7));
        if (at && this.bound.has(at.sid)) return this.refuse(url.pathname, 'invalid_token');
      }
      const res = await inner(url.pathname, { ...init, headers });
      if (!url.pathname.startsWith('/v1/auth/') || res.status !== 200) return res;
      // A token answer: bind the session to the proof's key.
      const body = await res.json();
      const sid = this.access.get(body.access_token).sid;
      if (proof) {
        if (this.bound.has(sid) && this.bound.get(sid) !== proof.jkt) return this.refuse(url.pathname, 'invalid_grant');
        this.bound.set(sid, proof.jkt);
        body.token_type = 'DPoP';
      } else if (this.bound.has(sid)) {
        this.sessions.get(sid).revoked = true; // a bound refresh token without its key: theft
        return this.refuse(url.pathname, 'invalid_grant');
      }
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    };
  }

  refuse(path, code) {
    this.refusals.push({ path, code });
    const resource = !path.startsWith('/v1/auth/');
    const headers = { 'content-type': 'application/json', 'DPoP-Nonce': this.nonce };
    if (resource) headers['WWW-Authenticate'] = `DPoP error="${code}", algs="ES256"`;
    const status = resource ? 401 : 400;
    return new Response(JSON.stringify({ error: code, error_description: code }), { status, headers });
  }

  /** The proof's checks; a string names the failure. */
  async check(proof, method, url, authorization) {
    const parts = proof.split('.');
    if (parts.length !== 3) return 'invalid_dpop_proof';
    const header = dec(parts[0]);
    const payload = dec(parts[1]);
    if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256') return 'invalid_dpop_proof';
    if (!header.jwk || 'd' in header.jwk) return 'invalid_dpop_proof';
    const key = await subtle.importKey('jwk', header.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const ok = await subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      Buffer.from(parts[2], 'base64url'),
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return 'invalid_dpop_proof';
    if (payload.htm !== method || payload.htu !== `${url.origin}${url.pathname}`) return 'invalid_dpop_proof';
    if (Math.abs(payload.iat - Math.floor(Date.now() / 1000)) > 60) return 'invalid_dpop_proof';
    if (this.seen.has(payload.jti)) return 'invalid_dpop_proof';
    this.seen.add(payload.jti);
    if (authorization?.startsWith('DPoP ')) {
      const ath = b64url(await subtle.digest('SHA-256', new TextEncoder().encode(authorization.slice(5))));
      if (payload.ath !== ath) return 'invalid_dpop_proof';
    } else if ('ath' in payload) {
      return 'invalid_dpop_proof';
    }
    const jkt = await thumbprint(header.jwk);
    this.proofs.push({ header, payload, jkt });
    return { header, payload, jkt };
  }
}

async function setup({ keyStore = memoryKeyStore(), requireNonce = false, name = 'app' } = {}) {
  const clock = new FakeClock(Date.now());
  const server = new DpopTessera({ clock, ttl: 60, requireNonce });
  const client = new TesseraClient({
    baseUrl: ORIGIN,
    dpop: { keyStore },
    fetch: server.fetch,
    now: clock.now,
    channelName: name,
  });
  await client.register(EMAIL, PASSWORD);
  await client.login(EMAIL, PASSWORD);
  return { clock, server, client };
}

test('login, refresh and fetch carry proofs from one key; tokens come back bound', async () => {
  const { clock, server, client } = await setup();
  const signer = await client.dpopSigner();
  assert.equal(client._access.tokenType, 'DPoP');
  const res = await client.fetch('/v1/me?x=1#frag');
  assert.equal(res.status, 200);
  const me = server.log.findLast((r) => r.path === '/v1/me');
  assert.equal(me.headers.authorization, `Bearer ${client.accessToken}`, 'the checker accepted `DPoP <token>`');
  const last = server.proofs.at(-1);
  assert.equal(last.payload.htm, 'GET');
  assert.equal(last.payload.htu, `${ORIGIN}/v1/me`, 'no query, no fragment');
  assert.ok(last.payload.ath, 'ath on a resource request');

  clock.advance(61);
  assert.equal((await client.fetch('/v1/me')).status, 200);
  assert.equal(server.count('/v1/auth/refresh'), 1);
  const jkts = new Set(server.proofs.map((p) => p.jkt));
  assert.deepEqual([...jkts], [signer.jkt], 'every proof from the one key');
  assert.equal(server.proofs.filter((p) => p.payload.htm === 'POST').length, 2, 'login and refresh');
});

test('the private key cannot be exported, and the public JWK has no private part', async () => {
  const store = memoryKeyStore();
  const signer = await DpopSigner.open({ name: 'k', keyStore: store });
  assert.deepEqual(Object.keys(signer.jwk).sort(), ['crv', 'kty', 'x', 'y']);
  await assert.rejects(subtle.exportKey('jwk', signer._pair.privateKey));
  assert.equal(signer._pair.privateKey.extractable, false);
});

test('two tabs over one key store share the key (as over IndexedDB)', async () => {
  const keyStore = memoryKeyStore();
  const a = await DpopSigner.open({ name: 'app', keyStore });
  const b = await DpopSigner.open({ name: 'app', keyStore });
  const other = await DpopSigner.open({ name: 'another-app', keyStore });
  assert.equal(a.jkt, b.jkt);
  assert.notEqual(a.jkt, other.jkt);
});

test('a server nonce is picked up and the request retried once, at the token endpoint and at a resource', async () => {
  const { server, client } = await setup({ requireNonce: true });
  // Login: 400 use_dpop_nonce, then the retry with the nonce.
  assert.deepEqual(server.refusals, [{ path: '/v1/auth/login', code: 'use_dpop_nonce' }]);
  assert.equal(server.count('/v1/auth/login', 200), 1);
  assert.equal(client.active, true);
  assert.equal((await client.fetch('/v1/me')).status, 200);
  server.nonce = 'n-2'; // the server moves on
  assert.equal((await client.fetch('/v1/me')).status, 200);
  assert.deepEqual(server.refusals.slice(1), [{ path: '/v1/me', code: 'use_dpop_nonce' }], 'one 401 asking for the new nonce');
  assert.equal(server.proofs.at(-1).payload.nonce, 'n-2');
  assert.equal(server.count('/v1/auth/refresh'), 0, 'a nonce challenge is not an expired token');
});

test('a stolen access token is refused as Bearer, and a stolen refresh token without the key ends the session', async () => {
  const { server, client } = await setup();
  const access = client.accessToken;
  const stolen = await client.storage.get();
  const asBearer = await server.fetch('/v1/me', { headers: { authorization: `Bearer ${access}` } });
  assert.equal(asBearer.status, 401);
  const replay = await server.fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: stolen }),
  });
  assert.equal(replay.status, 400);
  // The real client's next refresh finds the session dead.
  assert.equal(await client.refresh(), false);
});

test('htu is the absolute URL without query or fragment', () => {
  assert.equal(htuOf('/v1/me?a=1#b', 'https://auth.example/app/'), 'https://auth.example/v1/me');
  assert.equal(htuOf('https://API.example:8443/x?y', undefined), 'https://api.example:8443/x');
});
