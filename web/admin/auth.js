// Sign-in for the admin console: the authorization code flow with PKCE
// (S256) as the first-party public client `tessera-console`, through the
// hosted login page. The access token lives in this module's memory only;
// the refresh token is in the HttpOnly refresh cookie (`cookie=true` at the
// token endpoint, with the cookie mode's CSRF header), never visible here.
// Only the PKCE verifier and `state` survive the redirect, in sessionStorage,
// and are removed as soon as the code is exchanged.

export const CLIENT_ID = 'tessera-console';
const CSRF = { 'X-Tessera-CSRF': '1' };
const PENDING = 'tessera-console-pkce';
// Not a secret: only whether a reload should try the refresh cookie.
const RESUME = 'tessera-console-signed-in';

let access = null; // { token, expiresAt (ms) }
let idToken = null; // for RP-initiated logout
let inflight = null;

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

export const redirectUri = () => `${location.origin}/admin/`;

/** An error from sign-in or the token endpoint. */
export class AuthError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** Starts sign-in: to the authorization endpoint (and the hosted login page). */
export async function signIn() {
  const verifier = random(32);
  const state = random(16);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: 'openid',
    state,
    code_challenge: b64url(digest),
    code_challenge_method: 'S256',
  });
  location.assign(`/oauth2/authorize?${q}`);
}

async function tokenRequest(params) {
  const res = await fetch('/oauth2/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...CSRF },
    body: new URLSearchParams({ client_id: CLIENT_ID, cookie: 'true', ...params }),
    credentials: 'same-origin',
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (body.error === 'invalid_grant') localStorage.removeItem(RESUME);
    throw new AuthError(body.error_description ?? body.message ?? `token endpoint: ${res.status}`, body.error);
  }
  access = { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
  idToken = body.id_token ?? idToken;
  localStorage.setItem(RESUME, '1');
  return access.token;
}

/**
 * Finishes a sign-in redirect if this page load is one: true when it was
 * (tokens are now in memory), false when the URL carries no answer.
 */
export async function completeSignIn() {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
  if (q.has('error')) throw new AuthError(q.get('error_description') ?? q.get('error'), q.get('error'));
  if (!pending || pending.state !== q.get('state')) {
    throw new AuthError('this sign-in answer was not asked for by this tab (state mismatch): sign in again', 'state');
  }
  await tokenRequest({
    grant_type: 'authorization_code',
    code: q.get('code'),
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  return true;
}

/** A new access token from the refresh cookie (one request at a time). */
export function refresh() {
  inflight ??= tokenRequest({ grant_type: 'refresh_token' }).finally(() => {
    inflight = null;
  });
  return inflight;
}

/** The current access token, refreshed when it is about to expire. */
export async function accessToken() {
  if (access && access.expiresAt - Date.now() > 1500) return access.token;
  return refresh();
}

/** True if this browser signed in before (a reload may resume from the cookie). */
export const mayResume = () => localStorage.getItem(RESUME) === '1';

/**
 * Ends the console's session (the refresh cookie's), forgets the tokens, and
 * goes to the hosted logout page, which ends the single sign-on session after
 * the admin confirms, and comes back here.
 */
export async function signOut() {
  access = null;
  localStorage.removeItem(RESUME);
  await fetch('/v1/auth/logout', { method: 'POST', headers: CSRF, credentials: 'same-origin' }).catch(() => {});
  const q = new URLSearchParams({ client_id: CLIENT_ID, post_logout_redirect_uri: redirectUri() });
  if (idToken) q.set('id_token_hint', idToken);
  idToken = null;
  location.assign(`/oauth2/logout?${q}`);
}
