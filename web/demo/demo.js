// The live demo: @tessera/client against this server, every request logged.
import { TesseraClient, TesseraError } from '/client/tessera-client.js';
import { DpopSigner, memoryKeyStore } from '/client/dpop.js';
import { initPasskeys } from '/assets/demo-passkey.js';
import { initMfa, onLoginError } from '/assets/demo-mfa.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

let client = null;
let lifetime = 0; // seconds, of the current access token
let spent = []; // bearer mode: every refresh token the app has held, oldest first
let busy = false;

const mode = () => document.querySelector('input[name="mode"]:checked').value;
const dpop = () => $('dpop').checked;
// DPoP mode keeps the session across reloads and tabs: the refresh token in
// localStorage, the key in IndexedDB (non-extractable), this flag here.
const DPOP_FLAG = 'tessera.demo.dpop';
const DPOP_REFRESH = 'tessera.demo.dpop.refresh';
const clock = () => new Date().toLocaleTimeString([], { hour12: false });

/** Appends a line to the log: kind is note, request, attacker, good or bad. */
function log(kind, text, data = {}) {
  const li = el('li', `log-${kind}`);
  li.dataset.event = kind;
  for (const [k, v] of Object.entries(data)) li.dataset[k] = String(v);
  li.append(el('time', 'muted', clock()), document.createTextNode(' '), el('span', '', text));
  $('log').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

async function describe(res) {
  if (res.ok) return '';
  try {
    const body = await res.clone().json();
    return body.error ? ` ${body.error}` : '';
  } catch {
    return '';
  }
}

/** The client's fetch: logs every request the client makes, never its tokens. */
async function loggingFetch(input, init = {}) {
  const url = new URL(typeof input === 'string' ? input : input.url, location.href);
  const method = (init.method ?? (typeof input === 'string' ? 'GET' : input.method)).toUpperCase();
  try {
    const res = await fetch(input, init);
    const status = res.status;
    const note = await describe(res);
    log(res.ok ? 'request' : 'request-failed', `${method} ${url.pathname} → ${status}${note}`, {
      method,
      path: url.pathname,
      status,
      actor: 'app',
    });
    return res;
  } catch (e) {
    log('bad', `${method} ${url.pathname} failed: ${e.message}`, { method, path: url.pathname, status: 0, actor: 'app' });
    throw e;
  }
}

function setStatus(state, text) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
  const live = state === 'active';
  $('me').disabled = !client || busy;
  $('refresh').disabled = !live || busy;
  $('logout').disabled = !live || busy;
  $('theft').disabled = !live || busy || mode() !== 'bearer';
  $('theft-note').textContent =
    mode() !== 'bearer'
      ? 'Cookie mode: the refresh token is in an HttpOnly cookie that page scripts (and XSS) cannot read, so there is nothing here to steal. Switch to bearer mode to try it.'
      : dpop()
        ? 'DPoP: a thief copies the current refresh token and access token (as XSS could) and uses them from its own machine, with its own key.'
        : 'Replays a refresh token the app has already spent, as a thief who copied it earlier would.';
}

/** A new client; `hosted`: the hosted sign-in's public client `demo` (bearer mode). */
function newClient(hosted = false) {
  if (client) client.close();
  spent = [];
  const m = hosted ? 'bearer' : mode();
  const bound = dpop() && !hosted;
  const recording = {
    value: null,
    get() {
      return bound ? localStorage.getItem(DPOP_REFRESH) : this.value;
    },
    set(v) {
      if (bound) localStorage.setItem(DPOP_REFRESH, v);
      else this.value = v;
      spent.push(v); // the demo keeps a copy of each one: the "thief's" loot
    },
    clear() {
      if (bound) localStorage.removeItem(DPOP_REFRESH);
      else this.value = null;
    },
    shared: bound,
    key: bound ? DPOP_REFRESH : undefined,
  };
  client = new TesseraClient({
    mode: m,
    proactive: $('proactive').checked,
    refreshMargin: 2,
    fetch: loggingFetch,
    storage: m === 'bearer' ? recording : undefined,
    dpop: bound,
    // Plain demo tabs are independent sessions; DPoP tabs share one (the
    // key in IndexedDB, the refresh token in localStorage), single-flight.
    crossTab: bound,
    ...(hosted ? { clientId: 'demo', redirectUri: location.origin + location.pathname } : {}),
    onTokens: (t) => {
      lifetime = t.expiresIn;
      const link = $('inspect');
      link.href = `/debugger#${t.accessToken}`;
      link.hidden = false;
      if (t.source === 'refresh') log('good', 'New access token (and the refresh token rotated).', { kind: 'tokens' });
    },
    onSessionEnded: (info) => {
      $('inspect').hidden = true;
      if (info.reason === 'logout') {
        setStatus('none', 'Logged out: the session is over on the server too.');
        log('note', 'Logged out.', { kind: 'ended', reason: info.reason });
      } else {
        const why = info.description ? ` (${info.description})` : '';
        setStatus('ended', `Session ended: the server refused the refresh${why}. Log in again.`);
        log('bad', `onSessionEnded: the session is over${why}. The client stops; no retry loop.`, {
          kind: 'ended',
          reason: info.reason,
        });
      }
    },
  });
  setStatus('none', 'Not logged in.');
}

function creds() {
  return [$('email').value.trim(), $('password').value];
}

async function guarded(fn) {
  if (busy) return;
  busy = true;
  setStatus($('status').dataset.state, $('status').textContent);
  try {
    await fn();
  } catch (e) {
    const msg = e instanceof TesseraError ? `${e.code || e.status}: ${e.message}` : String(e.message || e);
    log('bad', msg, { kind: 'error' });
  } finally {
    busy = false;
    setStatus($('status').dataset.state, $('status').textContent);
  }
}

async function login() {
  const [email, password] = creds();
  newClient(); // a fresh client (and a fresh list of spent tokens) per login
  try {
    await client.login(email, password);
  } catch (e) {
    if (onLoginError(e)) return; // a second factor is asked for: see mfa.js
    throw e;
  }
  await signedIn();
}

/** The session has started (after the password, or the second factor). */
async function signedIn(how = '') {
  const email = creds()[0];
  setStatus('active', `Logged in as ${email} (${mode()} mode${dpop() ? ', DPoP' : ''}).`);
  const where = mode() === 'cookie' ? 'set as an HttpOnly cookie' : dpop() ? 'kept in localStorage' : 'held in memory';
  const bound = dpop() ? ` Tokens are DPoP-bound to key ${(await client.dpopSigner()).jkt.slice(0, 10)}…, which cannot be exported.` : '';
  const extra = how ? ` (${how})` : '';
  log('good', `Logged in${extra}. Access token for ${lifetime} s; refresh token ${where}.${bound}`, { kind: 'login' });
}

/** Signs in through the hosted page (OpenID Connect, PKCE): leaves the page. */
async function hostedLogin() {
  newClient(true);
  log('note', 'Off to the hosted sign-in page (authorization code flow with PKCE)…', { kind: 'hosted' });
  await client.loginWithRedirect({ scope: 'openid email offline_access' });
}

/** Back from the hosted page (?code=…&state=… or ?error=…): finishes the sign-in. */
async function hostedCallback() {
  newClient(true);
  const { claims } = await client.handleRedirectCallback();
  const who = claims?.email ?? claims?.sub ?? 'you';
  setStatus('active', `Logged in as ${who} through the hosted page.`);
  log('good', `Signed in through the hosted page: state and nonce checked, code exchanged. Access token for ${lifetime} s.`, { kind: 'login' });
}

async function register() {
  const [email, password] = creds();
  const user = await client.register(email, password);
  log('good', `Registered ${user.email}. Now log in.`, { kind: 'registered' });
}

async function callMe() {
  const res = await client.fetch('/v1/me');
  const text = await res.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON
  }
  const out = $('me-result');
  out.textContent = `${res.status}\n${shown}`;
  out.dataset.status = String(res.status);
}

async function refreshNow() {
  await client.refresh();
}

/** A request made by the thief, logged as the attacker's. */
async function attackerFetch(method, path, init) {
  const res = await fetch(path, { ...init, method });
  let body = {};
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  log('attacker', `Thief: ${method} ${path} → ${res.status} ${body.error ?? ''}: ${body.error_description ?? ''}`, {
    method,
    path,
    status: res.status,
    actor: 'attacker',
  });
  return res;
}

/** DPoP: the thief has both tokens but not the key; its own key does not fit them. */
async function dpopTheft() {
  const access = client.accessToken;
  const refresh = localStorage.getItem(DPOP_REFRESH);
  log('attacker', 'Thief: copies the current access token and refresh token, and tries them with its own DPoP key…', { kind: 'theft' });
  const own = await DpopSigner.open({ name: 'thief', keyStore: memoryKeyStore() });
  await attackerFetch('GET', '/v1/me', { headers: { Authorization: `Bearer ${access}` } });
  await attackerFetch('GET', '/v1/me', {
    headers: { Authorization: `DPoP ${access}`, DPoP: await own.proof('GET', '/v1/me', { base: location.href, accessToken: access }) },
  });
  await attackerFetch('POST', '/v1/auth/refresh', {
    headers: { 'Content-Type': 'application/json', DPoP: await own.proof('POST', '/v1/auth/refresh', { base: location.href }) },
    body: JSON.stringify({ refresh_token: refresh }),
  });
  log('note', 'Both tokens are bound to a key the thief does not have. Tessera took the refresh token without its key for stolen and ended the session. The app learns it at its next call:');
  await callMe();
}

async function theft() {
  if (mode() !== 'bearer' || !client.active) return;
  if (dpop()) {
    await dpopTheft();
    return;
  }
  while (spent.length < 3 && client.active) {
    log('note', 'The app refreshes, so the stolen token is two rotations old (inside the grace window the direct parent would just get its successor back).');
    await client.refresh();
  }
  const stolen = spent[spent.length - 3];
  log('attacker', 'Thief: replays a refresh token copied before two rotations…', { kind: 'theft' });
  const res = await fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: stolen }),
  });
  let body = {};
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  log('attacker', `Thief: POST /v1/auth/refresh → ${res.status} ${body.error ?? ''}: ${body.error_description ?? ''}`, {
    method: 'POST',
    path: '/v1/auth/refresh',
    status: res.status,
    actor: 'attacker',
  });
  log('note', 'Tessera saw a spent token come back and revoked the whole session. The app learns it at its next call:');
  await callMe();
}

async function logout() {
  await client.logout();
}

function tick() {
  const text = $('ttl-text');
  const bar = $('ttl');
  const left = client ? client.expiresIn : null;
  if (left === null) {
    text.textContent = 'No access token.';
    text.dataset.state = 'none';
    bar.value = 0;
    return;
  }
  bar.max = lifetime || 1;
  bar.value = Math.max(0, left);
  if (left > 0) {
    text.textContent = `expires in ${left.toFixed(1)} s`;
    text.dataset.state = 'live';
  } else {
    text.textContent = `expired ${(-left).toFixed(1)} s ago: the next call gets a 401`;
    text.dataset.state = 'expired';
  }
}

function init() {
  const rnd = Math.random().toString(36).slice(2, 8);
  $('email').value = `demo-${rnd}@example.com`;
  $('password').value = 'correct horse battery staple';
  newClient();
  $('account-form').addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(login);
  });
  $('register').addEventListener('click', () => guarded(register));
  initMfa({ client: () => client, log, signedIn, guarded });
  $('hosted').addEventListener('click', () => guarded(hostedLogin));
  const back = new URLSearchParams(location.search);
  if (back.has('state') && (back.has('code') || back.has('error'))) guarded(hostedCallback);
  $('me').addEventListener('click', () => guarded(callMe));
  $('refresh').addEventListener('click', () => guarded(refreshNow));
  $('theft').addEventListener('click', () => guarded(theft));
  $('logout').addEventListener('click', () => guarded(logout));
  $('clear-log').addEventListener('click', () => $('log').replaceChildren());
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener('change', () =>
      guarded(async () => {
        if (client && client.active) await client.logout();
        newClient();
        log('note', `Switched to ${mode()} mode.`, { kind: 'mode' });
      }),
    );
  }
  $('proactive').addEventListener('change', () => {
    if (client) client.proactive = $('proactive').checked;
  });
  $('dpop').addEventListener('change', () =>
    guarded(async () => {
      if (client && client.active) await client.logout();
      if (dpop()) localStorage.setItem(DPOP_FLAG, '1');
      else localStorage.removeItem(DPOP_FLAG);
      newClient();
      log('note', dpop() ? 'DPoP on: tokens will be bound to a key this browser keeps and cannot export.' : 'DPoP off.', { kind: 'mode' });
    }),
  );
  initPasskeys({
    client: () => client,
    fresh: () => (newClient(), client),
    fetch: loggingFetch,
    log,
    signedIn: (text) => setStatus('active', text),
    guarded,
    mode,
  });
  setInterval(tick, 100);
  if (localStorage.getItem(DPOP_FLAG) === '1') resumeDpop();
  else document.documentElement.dataset.ready = 'true';
}

/** A reload or a second tab in DPoP mode picks up the stored session. */
async function resumeDpop() {
  $('dpop').checked = true;
  newClient();
  try {
    if (await client.resume()) {
      setStatus('active', `Session resumed (${mode()} mode, DPoP).`);
      log('good', `Resumed the DPoP session: the refresh token from localStorage, a proof from the key in IndexedDB.`, { kind: 'resumed' });
    }
  } catch (e) {
    log('bad', `Could not resume: ${e.message}`, { kind: 'error' });
  } finally {
    document.documentElement.dataset.ready = 'true';
  }
}

init();
