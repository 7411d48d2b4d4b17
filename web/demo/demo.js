// The live demo: @tessera/client against this server, every request logged.
import { TesseraClient, TesseraError } from '/client/tessera-client.js';

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
    mode() === 'bearer'
      ? 'Replays a refresh token the app has already spent, as a thief who copied it earlier would.'
      : 'Cookie mode: the refresh token is in an HttpOnly cookie that page scripts (and XSS) cannot read, so there is nothing here to steal. Switch to bearer mode to try it.';
}

/** A new client; `hosted`: the hosted sign-in's public client `demo` (bearer mode). */
function newClient(hosted = false) {
  if (client) client.close();
  spent = [];
  const m = hosted ? 'bearer' : mode();
  const recording = {
    value: null,
    get() {
      return this.value;
    },
    set(v) {
      this.value = v;
      spent.push(v); // the demo keeps a copy of each one: the "thief's" loot
    },
    clear() {
      this.value = null;
    },
  };
  client = new TesseraClient({
    mode: m,
    proactive: $('proactive').checked,
    refreshMargin: 2,
    fetch: loggingFetch,
    storage: m === 'bearer' ? recording : undefined,
    crossTab: false, // the demo's tabs are independent sessions
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
  await client.login(email, password);
  setStatus('active', `Logged in as ${email} (${mode()} mode).`);
  log('good', `Logged in. Access token for ${lifetime} s${mode() === 'cookie' ? '; refresh token set as an HttpOnly cookie' : '; refresh token held in memory'}.`, { kind: 'login' });
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

async function theft() {
  if (mode() !== 'bearer' || !client.active) return;
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
  setInterval(tick, 100);
  document.documentElement.dataset.ready = 'true';
}

init();
