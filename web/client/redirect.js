// @tessera/client: sign-in through Tessera's hosted page (OpenID Connect
// authorization code flow with PKCE S256), for `TesseraClient`'s
// `loginWithRedirect()` and `handleRedirectCallback()`.
//
// - The PKCE verifier, `state` and `nonce` are random (32 bytes each), kept
//   in sessionStorage (this tab only) for the one round trip, and removed as
//   soon as the callback is handled (a second call finds nothing).
// - The callback is accepted only with the same `state` and, when the
//   server names itself (RFC 9207 `iss`), the expected issuer; the ID token's
//   `nonce`, `aud` and `iss` are checked. (Its signature is not: it came
//   straight from the token endpoint over the connection the browser
//   verified, which OIDC Core §3.1.3.7 accepts for the code flow.)

const TXN_KEY = 'tessera.oidc.pending';

/** The default OAuth paths on the Tessera server. */
export const OAUTH_PATHS = Object.freeze({
  authorize: '/oauth2/authorize',
  token: '/oauth2/token',
  revoke: '/oauth2/revoke',
});

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random() {
  return b64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/** The S256 code challenge of `verifier`. */
export async function challengeOf(verifier) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

/** The claims of a JWT, unverified (for the checks above only). */
export function jwtClaims(jwt) {
  const part = String(jwt).split('.')[1] ?? '';
  const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function settings(client) {
  if (!client.clientId) throw new TypeError('the hosted sign-in needs the clientId option');
  const redirectUri = client.redirectUri ?? globalThis.location?.href?.split(/[?#]/)[0];
  if (!redirectUri) throw new TypeError('the hosted sign-in needs the redirectUri option');
  const store = client.redirectStorage ?? globalThis.sessionStorage;
  if (!store) throw new TypeError('the hosted sign-in needs sessionStorage (or the redirectStorage option)');
  return { redirectUri, store };
}

/** The issuer the client expects: the `issuer` option, else the server's origin. */
function expectedIssuer(client) {
  if (client.issuer) return client.issuer.replace(/\/+$/, '');
  return (client.baseUrl || globalThis.location?.origin || '').replace(/\/+$/, '');
}

/**
 * Builds the authorization request, remembers the verifier, state and
 * nonce, and navigates there. Resolves to the URL (after `navigate` ran).
 */
export async function startRedirect(client, { scope = 'openid', prompt, loginHint, maxAge } = {}) {
  const { redirectUri, store } = settings(client);
  const txn = { verifier: random(), state: random(), nonce: random(), redirectUri };
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: redirectUri,
    scope,
    state: txn.state,
    nonce: txn.nonce,
    code_challenge: await challengeOf(txn.verifier),
    code_challenge_method: 'S256',
  });
  if (prompt) params.set('prompt', prompt);
  if (loginHint) params.set('login_hint', loginHint);
  if (maxAge !== undefined) params.set('max_age', String(maxAge));
  store.setItem(TXN_KEY, JSON.stringify(txn));
  const url = `${client._url(client.oauthPaths.authorize)}?${params}`;
  const navigate = client.navigate ?? ((u) => globalThis.location.assign(u));
  await navigate(url);
  return url;
}

/**
 * Finishes the sign-in on the redirect URI: checks `state` (and `iss`),
 * exchanges the code with the PKCE verifier, checks the ID token's nonce,
 * audience and issuer, and starts the session. Resolves to
 * `{ idToken, claims, scope }`.
 */
export async function finishRedirect(client, href, TesseraError) {
  const { store } = settings(client);
  const raw = store.getItem(TXN_KEY);
  store.removeItem(TXN_KEY); // one use, whatever happens next
  const url = new URL(href ?? globalThis.location.href);
  const q = url.searchParams;
  const fail = (message, code = 'invalid_callback') => new TesseraError(message, { code, description: message });
  if (!raw) throw fail('no sign-in is in progress in this tab');
  const txn = JSON.parse(raw);
  if (!q.get('state') || q.get('state') !== txn.state) throw fail('the state does not match the sign-in this tab started');
  const issuer = expectedIssuer(client);
  if (q.has('iss') && q.get('iss') !== issuer) throw fail('the answer comes from another issuer');
  if (q.has('error')) {
    const code = q.get('error');
    throw new TesseraError(`sign-in failed: ${code}`, { code, description: q.get('error_description') ?? '' });
  }
  const code = q.get('code');
  if (!code) throw fail('the answer carries no code');
  const sentAt = client.now();
  const res = await client._tokenFetch(client._url(client.oauthPaths.token), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: txn.redirectUri,
      client_id: client.clientId,
      code_verifier: txn.verifier,
    }),
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    throw new TesseraError(`code exchange failed: ${body?.error ?? res.status}`, {
      status: res.status,
      code: body?.error ?? '',
      description: body?.error_description ?? '',
    });
  }
  let claims = null;
  if (typeof body.id_token === 'string') {
    claims = jwtClaims(body.id_token);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.nonce !== txn.nonce) throw fail('the ID token is not for this sign-in (nonce)');
    if (!aud.includes(client.clientId)) throw fail('the ID token is for another client');
    if (claims.iss !== issuer) throw fail('the ID token comes from another issuer');
  }
  await client.setSession(body, sentAt);
  if (client.cleanUrl !== false && globalThis.history?.replaceState && !href) {
    globalThis.history.replaceState(null, '', url.pathname);
  }
  return { idToken: body.id_token ?? null, claims, scope: body.scope ?? '' };
}

/** The refresh request of a session from the hosted sign-in (RFC 6749 §6). */
export function oauthRefreshInit(client, refreshToken) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId }),
  };
}

/** The logout of such a session: revoking its refresh token (RFC 7009), which ends the session. */
export function oauthRevokeInit(client, refreshToken) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: client.clientId }),
  };
}
