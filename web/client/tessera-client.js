// @tessera/client: a fetch wrapper for Tessera that keeps the access token
// fresh without racing itself, in one tab or many.
//
// Plain ES module, no dependencies, no build step: the Tessera server serves
// this very file at /client/tessera-client.js. Types: ./index.d.ts.
//
// - Expiry is local: `expires_in` counted from the moment the request that
//   returned the token was sent (never later than the server minted it), on
//   this machine's clock. The token's `exp` claim is never compared with the
//   local clock, so a skewed clock does not matter.
// - Single flight: concurrent calls share one refresh. Across tabs, the Web
//   Locks API (or, without it, a BroadcastChannel election) lets one tab
//   refresh while the others receive its result over a BroadcastChannel.
// - A 401 triggers one refresh and one retry, never more. A refused refresh
//   ends the session: `onSessionEnded` fires once and nothing loops.
// - With `dpop: true`, every token request and every `fetch` carries a DPoP
//   proof (RFC 9449) from a non-extractable key kept in IndexedDB (./dpop.js),
//   and the tokens Tessera issues are bound to that key.

import { DpopSigner, asksForNonce } from './dpop.js';
import { OAUTH_PATHS, finishRedirect, oauthRefreshInit, oauthRevokeInit, startRedirect } from './redirect.js';
import { TesseraError } from './errors.js';
import { completeMfa, mfaRequiredOf } from './mfa.js';

export { TesseraError };

export { MfaRequiredError, beginTotp, confirmTotp, mfaState } from './mfa.js';

export {
  b64urlToBuffer,
  bufferToB64url,
  creationOptionsFromJSON,
  credentialToJSON,
  passkeyAsSecondFactor,
  registerPasskey,
  requestOptionsFromJSON,
  signInWithPasskey,
} from './passkey.js';

const DEFAULT_PATHS = Object.freeze({
  register: '/v1/auth/register',
  login: '/v1/auth/login',
  refresh: '/v1/auth/refresh',
  logout: '/v1/auth/logout',
});

/** The header Tessera requires on cookie-carried requests. */
export const CSRF_HEADER = 'X-Tessera-CSRF';

/** Refresh-token storage in memory only (the default in bearer mode). */
export function memoryStorage() {
  let value = null;
  return {
    get: () => value,
    set: (v) => {
      value = v;
    },
    clear: () => {
      value = null;
    },
  };
}

/**
 * Refresh-token storage in a Web Storage area (`localStorage` shares it
 * between tabs, `sessionStorage` keeps it per tab) under `key`.
 * @param {Storage} area
 * @param {string} [key]
 */
export function webStorage(area, key = 'tessera.refresh_token') {
  let shared = false;
  try {
    shared = area === globalThis.localStorage;
  } catch {
    shared = false; // storage access refused (opaque origin): not shared
  }
  return {
    get: () => area.getItem(key),
    set: (v) => area.setItem(key, v),
    clear: () => area.removeItem(key),
    shared,
    key,
  };
}

async function errorOf(res, fallback) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const code = body && typeof body.error === 'string' ? body.error : '';
  const description =
    body && typeof body.error_description === 'string' ? body.error_description : '';
  return new TesseraError(description || code || `${fallback}: HTTP ${res.status}`, {
    status: res.status,
    code,
    description,
  });
}

function randomId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Tessera session in this tab, shared with the app's other tabs. */
export class TesseraClient {
  /** @param {import('./index.d.ts').TesseraClientOptions} [options] */
  constructor(options = {}) {
    const mode = options.mode ?? 'bearer';
    if (mode !== 'bearer' && mode !== 'cookie') {
      throw new TypeError(`mode must be "bearer" or "cookie", not ${JSON.stringify(mode)}`);
    }
    this.mode = mode;
    this.baseUrl = String(options.baseUrl ?? '').replace(/\/+$/, '');
    this.paths = { ...DEFAULT_PATHS, ...(options.paths ?? {}) };
    this.storage = options.storage ?? memoryStorage();
    this.refreshMargin = Math.max(0, Number(options.refreshMargin ?? 30));
    this.proactive = options.proactive ?? true;
    this.onSessionEnded = options.onSessionEnded ?? null;
    this.onTokens = options.onTokens ?? null;
    this.now = options.now ?? (() => Date.now());
    this.peerTimeout = options.peerTimeout ?? 10_000;
    this.electionWindow = options.electionWindow ?? 50;
    this.dpop = Boolean(options.dpop);
    this._dpopOptions = options.dpop && typeof options.dpop === 'object' ? options.dpop : {};
    this._signer = null; // the DPoP signer, once its key is loaded
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new TypeError('no fetch implementation');
    this._fetch = (input, init) => fetchImpl(input, init);
    // The hosted sign-in (./redirect.js): a public client of Tessera's.
    this.clientId = options.clientId ?? null;
    this.redirectUri = options.redirectUri ?? null;
    this.issuer = options.issuer ?? null;
    this.oauthPaths = { ...OAUTH_PATHS, ...(options.oauthPaths ?? {}) };
    this.navigate = options.navigate ?? null;
    this.redirectStorage = options.redirectStorage ?? null;

    // Cross-tab coordination makes sense when the tabs share the session:
    // cookie mode, or a refresh token in storage every tab reads.
    const crossTab = options.crossTab ?? (mode === 'cookie' || this.storage.shared === true);
    const name =
      options.channelName ??
      `tessera-client:${this.baseUrl || 'same-origin'}:${mode}:${this.storage.key ?? ''}`;
    this.lockName = name;
    this.locks = crossTab
      ? options.locks === undefined
        ? globalThis.navigator?.locks ?? null
        : options.locks
      : null;
    const BC = options.BroadcastChannel === undefined ? globalThis.BroadcastChannel : options.BroadcastChannel;
    this.channel = crossTab && typeof BC === 'function' ? new BC(name) : null;
    this.id = randomId();

    this._access = null; // { token, expiresAt, lifetime } while a session is live
    this._generation = 0; // bumped whenever tokens change or the session ends
    this._inflight = null; // this tab's one refresh in progress
    this._ended = false; // a live session has ended (and was reported)
    this._waiters = new Set(); // checks run when the generation moves
    this._claims = new Map(); // fallback election: peer id -> time its claim arrived
    if (this.channel) {
      this._onMessage = (ev) => this._receive(ev.data);
      this.channel.addEventListener('message', this._onMessage);
    }
  }

  /** The current access token, or null. */
  get accessToken() {
    return this._access ? this._access.token : null;
  }

  /** Local time (ms, this client's `now()`) at which the access token expires, or null. */
  get expiresAt() {
    return this._access ? this._access.expiresAt : null;
  }

  /** Seconds until the access token expires by the local estimate (may be negative), or null. */
  get expiresIn() {
    return this._access ? (this._access.expiresAt - this.now()) / 1000 : null;
  }

  /** True while a session is live (an access token is held). */
  get active() {
    return this._access !== null;
  }

  /** True once a live session has ended (logout, or a refresh the server refused). */
  get sessionEnded() {
    return this._ended;
  }

  _url(path) {
    return /^https?:\/\//i.test(path) ? path : `${this.baseUrl}${path}`;
  }

  /** What relative URLs resolve against (for DPoP's `htu`). */
  _base() {
    return globalThis.location?.href ?? (this.baseUrl || undefined);
  }

  /** The DPoP signer (its key loaded or made on first use), or null without DPoP. */
  dpopSigner() {
    if (!this.dpop) return Promise.resolve(null);
    if (!this._signer) {
      this._signer = DpopSigner.open({ name: this.lockName, ...this._dpopOptions }).catch((e) => {
        this._signer = null;
        throw new TesseraError('DPoP: no key could be loaded or made', { cause: e });
      });
    }
    return this._signer;
  }

  /**
   * A token-endpoint request (login, refresh, logout): with DPoP, a proof is
   * attached, and an answer asking for a server nonce is retried once with it.
   */
  async _tokenFetch(url, init) {
    const signer = await this.dpopSigner();
    if (!signer) return this._fetch(url, init);
    for (let attempt = 0; ; attempt += 1) {
      const headers = new Headers(init.headers);
      headers.set('DPoP', await signer.proof(init.method ?? 'POST', url, { base: this._base() }));
      const res = await this._fetch(url, { ...init, headers });
      const nonce = signer.noteNonce(url, this._base(), res);
      if (attempt === 0 && nonce && (await asksForNonce(res))) continue;
      return res;
    }
  }

  _authInit(init = {}) {
    const headers = new Headers(init.headers);
    if (init.body !== undefined) headers.set('Content-Type', 'application/json');
    const out = { ...init, method: 'POST', headers };
    if (this.mode === 'cookie') {
      headers.set(CSRF_HEADER, '1');
      out.credentials = 'include';
    }
    return out;
  }

  /** Accepts a token answer received for a request sent at `sentAt`. */
  _accept(body, sentAt, source) {
    if (!body || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new TesseraError('the server sent no access token', { status: 200 });
    }
    const lifetime = body.expires_in * 1000;
    const tokenType = /^dpop$/i.test(String(body.token_type ?? '')) ? 'DPoP' : 'Bearer';
    this._access = { token: body.access_token, expiresAt: sentAt + lifetime, lifetime, tokenType };
    this._generation += 1;
    this._ended = false;
    this._claims.clear();
    this._notifyWaiters();
    if (this.onTokens) this._safe(this.onTokens, { accessToken: body.access_token, expiresAt: this._access.expiresAt, expiresIn: body.expires_in, source });
  }

  /** Installs tokens obtained elsewhere (e.g. a login done by the app itself). */
  async setSession(body, sentAt = this.now()) {
    if (this.mode === 'bearer' && typeof body.refresh_token === 'string') {
      await this.storage.set(body.refresh_token);
    }
    this._accept(body, sentAt, 'login');
    this._broadcast({ type: 'tokens', ...this._wire() });
  }

  /** Registers an account: `{id, email, roles}`. */
  async register(email, password) {
    const res = await this._fetch(
      this._url(this.paths.register),
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) },
    );
    if (!res.ok) throw await errorOf(res, 'register');
    return res.json();
  }

  /** Logs in and starts a session. Resolves to the token answer (without the refresh token in cookie mode). */
  async login(email, password) {
    const body = { email, password };
    if (this.mode === 'cookie') body.cookie = true;
    const sentAt = this.now();
    const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    if (this.mode === 'cookie') init.credentials = 'include';
    const res = await this._tokenFetch(this._url(this.paths.login), init);
    const mfa = await mfaRequiredOf(res);
    if (mfa) throw mfa;
    if (!res.ok) throw await errorOf(res, 'login');
    const answer = await res.json();
    await this.setSession(answer, sentAt);
    return answer;
  }

  /** The second step of a login that threw `MfaRequiredError`: `{totp}` or `{recoveryCode}`. */
  completeMfa(mfaToken, factor) {
    return completeMfa(this, mfaToken, factor);
  }

  /** Signs in through Tessera's hosted page: navigates to the authorization endpoint (PKCE S256). */
  loginWithRedirect(options) {
    return startRedirect(this, options);
  }

  /** On the redirect URI: checks state and nonce, exchanges the code, starts the session. */
  handleRedirectCallback(href) {
    return finishRedirect(this, href, TesseraError);
  }

  /**
   * Picks up a session this browser already has: in cookie mode the refresh
   * cookie, in bearer mode a refresh token in storage. Resolves to true when
   * a session is live. Never ends a session that did not exist.
   */
  async resume() {
    if (this._access) return true;
    if (this.mode === 'bearer' && !(await this.storage.get())) return false;
    return this.refresh();
  }

  /**
   * Refreshes now (single-flight: concurrent calls, and other tabs, share
   * one refresh). Resolves to true when a fresh access token is held, false
   * when the session has ended. Rejects on transient failures (network,
   * 429, 5xx), which leave the session as it was.
   */
  refresh() {
    if (!this._inflight) {
      const generation = this._generation;
      this._inflight = this._coordinatedRefresh(generation).finally(() => {
        this._inflight = null;
      });
    }
    return this._inflight;
  }

  async _coordinatedRefresh(generation) {
    if (this.locks) {
      let mine = false;
      const ok = await this.locks.request(this.lockName, { ifAvailable: true }, async (lock) => {
        if (!lock) return false;
        mine = true;
        return this._refreshIfStale(generation);
      });
      if (mine) return ok;
      // Another tab is refreshing: wait for its answer, then (if it never
      // comes, say the tab was closed) take the lock and refresh ourselves.
      if (await this._waitForPeer(generation)) return this.active;
      return this.locks.request(this.lockName, async () => this._refreshIfStale(generation));
    }
    if (this.channel) return this._electedRefresh(generation);
    return this._refreshIfStale(generation);
  }

  /** Without Web Locks: announce a claim, and the lowest claimant id refreshes. */
  async _electedRefresh(generation) {
    const me = this.id;
    const claimedAt = this.now();
    this._broadcast({ type: 'claim' });
    await sleep(this.electionWindow);
    if (this._generation !== generation) return this.active;
    // A rival claimed before us, or at the same time with a smaller id.
    const recent = claimedAt - this.peerTimeout;
    const rival = [...this._claims].some(
      ([peer, at]) => at >= recent && (at < claimedAt || peer < me),
    );
    if (rival && (await this._waitForPeer(generation))) return this.active;
    return this._refreshIfStale(generation);
  }

  _waitForPeer(generation) {
    if (this._generation !== generation) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value) => {
        clearTimeout(timer);
        this._waiters.delete(check);
        resolve(value);
      };
      const check = () => {
        if (this._generation !== generation) done(true);
      };
      const timer = setTimeout(() => done(false), this.peerTimeout);
      this._waiters.add(check);
    });
  }

  _notifyWaiters() {
    for (const check of [...this._waiters]) check();
  }

  /** Refreshes unless the tokens changed since `generation` (another tab delivered). */
  async _refreshIfStale(generation) {
    if (this._generation !== generation) return this.active;
    let init;
    if (this.mode === 'bearer') {
      const token = await this.storage.get();
      if (!token) {
        this._end({ reason: 'no_refresh_token', status: 0, error: '', description: 'no refresh token is held' });
        return false;
      }
      init = this.clientId
        ? oauthRefreshInit(this, token)
        : this._authInit({ body: JSON.stringify({ refresh_token: token }) });
    } else {
      init = this._authInit({});
    }
    const sentAt = this.now();
    const path = this.clientId && this.mode === 'bearer' ? this.oauthPaths.token : this.paths.refresh;
    let res;
    try {
      res = await this._tokenFetch(this._url(path), init);
    } catch (cause) {
      throw new TesseraError('the refresh request failed', { cause });
    }
    if (res.ok) {
      const body = await res.json();
      if (this.mode === 'bearer') {
        if (typeof body.refresh_token !== 'string') {
          throw new TesseraError('the server sent no refresh token', { status: res.status });
        }
        await this.storage.set(body.refresh_token);
      }
      this._accept(body, sentAt, 'refresh');
      this._broadcast({ type: 'tokens', ...this._wire() });
      return true;
    }
    const err = await errorOf(res, 'refresh');
    // 400 (no token) and 401 (unknown, expired, revoked or reused) are final.
    if (res.status === 400 || res.status === 401) {
      this._end({ reason: 'refresh_rejected', status: res.status, error: err.code, description: err.description });
      return false;
    }
    throw err; // 403 csrf_failed, 429, 5xx: the session is not known to be over
  }

  _wire() {
    // Expiry travels as an absolute local time: every tab shares this clock.
    return {
      accessToken: this._access.token,
      expiresAt: this._access.expiresAt,
      lifetime: this._access.lifetime,
      tokenType: this._access.tokenType,
    };
  }

  _broadcast(msg) {
    if (!this.channel) return;
    try {
      this.channel.postMessage({ ...msg, from: this.id });
    } catch {
      // A closed channel: nothing to tell.
    }
  }

  _receive(msg) {
    if (!msg || typeof msg !== 'object' || msg.from === this.id) return;
    if (msg.type === 'claim' && typeof msg.from === 'string') {
      this._claims.set(msg.from, this.now());
    } else if (msg.type === 'tokens' && typeof msg.accessToken === 'string' && typeof msg.expiresAt === 'number') {
      this._claims.clear();
      this._access = {
        token: msg.accessToken,
        expiresAt: msg.expiresAt,
        lifetime: Number(msg.lifetime) || 0,
        tokenType: msg.tokenType === 'DPoP' ? 'DPoP' : 'Bearer',
      };
      this._generation += 1;
      this._ended = false;
      this._notifyWaiters();
      if (this.onTokens) this._safe(this.onTokens, { accessToken: msg.accessToken, expiresAt: msg.expiresAt, expiresIn: this._access.lifetime / 1000, source: 'peer' });
    } else if (msg.type === 'ended') {
      this._claims.clear();
      this._end(msg.info && typeof msg.info === 'object' ? msg.info : { reason: 'peer' }, false);
    }
  }

  /** Ends the session here (and, with `tell`, in the other tabs). Reports it once if it was live. */
  _end(info, tell = true) {
    const wasLive = this._access !== null;
    this._access = null;
    this._generation += 1;
    if (this.mode === 'bearer') {
      try {
        const r = this.storage.clear();
        if (r && typeof r.catch === 'function') r.catch(() => {});
      } catch {
        // Storage that cannot be cleared: the server has ended the session anyway.
      }
    }
    if (wasLive) this._ended = true;
    this._notifyWaiters();
    if (tell && wasLive) this._broadcast({ type: 'ended', info });
    if (wasLive && this.onSessionEnded) this._safe(this.onSessionEnded, info);
  }

  _safe(fn, arg) {
    try {
      fn(arg);
    } catch (e) {
      // A throwing callback must not break the client's state machine:
      // report it the way the platform reports an uncaught error.
      if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
      else console.error(e);
    }
  }

  _needsRefresh() {
    if (!this._access || !this.proactive) return false;
    const margin = Math.min(this.refreshMargin * 1000, this._access.lifetime / 2);
    return this._access.expiresAt - this.now() <= margin;
  }

  /**
   * `fetch` with the access token attached. Refreshes first when the token
   * is near expiry (if `proactive`), and once after a 401, then retries once.
   * After the session has ended, requests go out without a token and are
   * never retried.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   */
  async fetch(input, init = {}) {
    if (this._needsRefresh()) {
      try {
        await this.refresh();
      } catch {
        // Transient refresh failure: try the request with what we have.
      }
    }
    const retryable = input instanceof Request ? input.clone() : null;
    const sent = this.accessToken;
    const first = await this._send(input, init, sent, this._access?.tokenType);
    if (first.status !== 401 || sent === null) return first;
    // The token was refused. If another call or tab has already replaced it,
    // just retry; otherwise refresh once, then retry once.
    if (this.accessToken === sent) {
      let ok = false;
      try {
        ok = await this.refresh();
      } catch {
        return first;
      }
      if (!ok || this.accessToken === null || this.accessToken === sent) return first;
    } else if (this.accessToken === null) {
      return first;
    }
    return this._send(retryable ?? input, init, this.accessToken, this._access?.tokenType);
  }

  /**
   * Sends `input` with `token`: as `Bearer`, or as `DPoP` with a proof bound
   * to it (retried once when the resource asks for a new nonce).
   */
  async _send(input, init, token, tokenType) {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const target = typeof input === 'string' ? this._url(input) : input;
    const signer = token && tokenType === 'DPoP' ? await this.dpopSigner() : null;
    if (!signer) {
      if (token) headers.set('Authorization', `Bearer ${token}`);
      else headers.delete('Authorization');
      return this._fetch(target, { ...init, headers });
    }
    const url = target instanceof Request ? target.url : String(target);
    const method = init.method ?? (target instanceof Request ? target.method : 'GET');
    const spare = target instanceof Request ? target.clone() : target;
    headers.set('Authorization', `DPoP ${token}`);
    headers.set('DPoP', await signer.proof(method, url, { base: this._base(), accessToken: token }));
    const res = await this._fetch(target, { ...init, headers });
    if (signer.noteNonce(url, this._base(), res) && (await asksForNonce(res))) {
      headers.set('DPoP', await signer.proof(method, url, { base: this._base(), accessToken: token }));
      return this._fetch(spare, { ...init, headers });
    }
    return res;
  }

  /** Ends the session on the server and here; `onSessionEnded` fires with reason `logout`. */
  async logout() {
    let init;
    if (this.mode === 'bearer') {
      const token = await this.storage.get();
      if (token) init = this.clientId ? oauthRevokeInit(this, token) : this._authInit({ body: JSON.stringify({ refresh_token: token }) });
    } else {
      init = this._authInit({});
    }
    let failure = null;
    if (init) {
      try {
        const res = await this._tokenFetch(this._url(this.clientId && this.mode === 'bearer' ? this.oauthPaths.revoke : this.paths.logout), init);
        if (!res.ok && res.status !== 400 && res.status !== 401) failure = await errorOf(res, 'logout');
      } catch (cause) {
        failure = new TesseraError('the logout request failed', { cause });
      }
    }
    this._end({ reason: 'logout', status: 0, error: '', description: 'logged out' });
    if (failure) throw failure;
  }

  /** Stops listening to other tabs. */
  close() {
    if (this.channel) {
      this.channel.removeEventListener('message', this._onMessage);
      this.channel.close();
      this.channel = null;
    }
  }
}
