// Unit tests of the hosted sign-in (loginWithRedirect / handleRedirectCallback)
// against a stub token endpoint: PKCE S256, state, iss and nonce checks, the
// code exchange, and refreshes through /oauth2/token afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TesseraClient, TesseraError } from '../tessera-client.js';

const BASE = 'https://auth.example';
const CB = 'https://app.example/cb';

function memoryArea() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k), m };
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims) => `${b64({ alg: 'ES256' })}.${b64(claims)}.sig`;

function setup({ nonce, aud = 'spa', iss = BASE } = {}) {
  const calls = [];
  let asked = null;
  const fetch = async (url, init) => {
    const form = new URLSearchParams(String(init.body));
    calls.push({ url: String(url), form });
    if (form.get('grant_type') === 'authorization_code') {
      const verifier = form.get('code_verifier');
      const ok = createHash('sha256').update(verifier).digest('base64url') === asked.get('code_challenge');
      if (!ok || form.get('code') !== 'the-code') return Response.json({ error: 'invalid_grant' }, { status: 400 });
      return Response.json({
        access_token: 'at-1', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt-1', scope: 'openid offline_access',
        id_token: jwt({ iss, aud, nonce: nonce ?? asked.get('nonce'), sub: 'u1' }),
      });
    }
    if (String(url).endsWith('/oauth2/revoke')) return new Response(null, { status: 200 });
    if (form.get('grant_type') === 'refresh_token') {
      return Response.json({ access_token: 'at-2', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt-2' });
    }
    return Response.json({ error: 'unsupported' }, { status: 400 });
  };
  const area = memoryArea();
  let went = null;
  const client = new TesseraClient({
    baseUrl: BASE, clientId: 'spa', redirectUri: CB, fetch, redirectStorage: area,
    navigate: (u) => {
      went = new URL(u);
      asked = went.searchParams;
    },
  });
  return { client, calls, area, went: () => went };
}

test('loginWithRedirect asks for code + PKCE S256 with fresh state and nonce', async () => {
  const { client, went, area } = setup();
  await client.loginWithRedirect({ scope: 'openid offline_access', loginHint: 'a@example.com' });
  const u = went();
  assert.equal(`${u.origin}${u.pathname}`, `${BASE}/oauth2/authorize`);
  const q = u.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), 'spa');
  assert.equal(q.get('redirect_uri'), CB);
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.equal(q.get('login_hint'), 'a@example.com');
  const txn = JSON.parse(area.getItem('tessera.oidc.pending'));
  assert.equal(createHash('sha256').update(txn.verifier).digest('base64url'), q.get('code_challenge'));
  assert.equal(q.get('state'), txn.state);
  assert.equal(q.get('nonce'), txn.nonce);
  assert.ok(txn.verifier.length >= 43 && txn.state.length >= 43);
  const again = setup();
  await again.client.loginWithRedirect();
  assert.notEqual(again.went().searchParams.get('state'), q.get('state'));
});

test('handleRedirectCallback exchanges the code, checks the nonce, and refreshes at /oauth2/token', async () => {
  const { client, went, calls, area } = setup();
  await client.loginWithRedirect({ scope: 'openid offline_access' });
  const state = went().searchParams.get('state');
  const out = await client.handleRedirectCallback(`${CB}?code=the-code&state=${state}&iss=${encodeURIComponent(BASE)}`);
  assert.equal(out.claims.sub, 'u1');
  assert.equal(client.accessToken, 'at-1');
  assert.equal(area.getItem('tessera.oidc.pending'), null, 'one use');
  const exchange = calls[0];
  assert.equal(exchange.url, `${BASE}/oauth2/token`);
  assert.equal(exchange.form.get('redirect_uri'), CB);
  assert.equal(exchange.form.get('client_id'), 'spa');
  assert.ok(await client.refresh());
  assert.equal(client.accessToken, 'at-2');
  const refresh = calls[1];
  assert.equal(refresh.url, `${BASE}/oauth2/token`);
  assert.equal(refresh.form.get('refresh_token'), 'rt-1');
  assert.equal(refresh.form.get('client_id'), 'spa');
  // Logout revokes the refresh token at /oauth2/revoke (RFC 7009) as the client.
  await client.logout();
  const revoke = calls[2];
  assert.equal(revoke.url, `${BASE}/oauth2/revoke`);
  assert.equal(revoke.form.get('token'), 'rt-2');
  assert.equal(revoke.form.get('client_id'), 'spa');
  assert.equal(client.active, false);
  // A second callback (replay) finds no sign-in in progress.
  await assert.rejects(client.handleRedirectCallback(`${CB}?code=the-code&state=${state}`), TesseraError);
});

test('a wrong state, issuer or nonce, or an error answer, is refused', async () => {
  for (const [name, make] of [
    ['state', (s) => `${CB}?code=the-code&state=${s}x`],
    ['iss', (s) => `${CB}?code=the-code&state=${s}&iss=https%3A%2F%2Fevil.example`],
    ['error', (s) => `${CB}?error=access_denied&state=${s}`],
    ['no code', (s) => `${CB}?state=${s}`],
  ]) {
    const { client, went, calls } = setup();
    await client.loginWithRedirect();
    const s = went().searchParams.get('state');
    await assert.rejects(client.handleRedirectCallback(make(s)), TesseraError, name);
    assert.equal(calls.length, 0, `${name}: no code exchange`);
    assert.equal(client.active, false);
  }
  for (const [name, opts] of [
    ['nonce', { nonce: 'other' }],
    ['aud', { aud: 'someone-else' }],
    ['id token iss', { iss: 'https://evil.example' }],
  ]) {
    const { client, went } = setup(opts);
    await client.loginWithRedirect();
    const s = went().searchParams.get('state');
    await assert.rejects(client.handleRedirectCallback(`${CB}?code=the-code&state=${s}`), TesseraError, name);
    assert.equal(client.active, false, name);
  }
});
