// The debugger page: decodes as you type, decrypts a JWE with a pasted private
// key, verifies with WebCrypto. The token and the keys stay in this page: the
// only request made is GET /.well-known/jwks.json.
import { decodeJwt, JwtError, parseKeyText, secretBytes, timeClaims, verifyJwt, warnings } from './jwt.js';
import { decodeJwe, decryptJwe, JweError, looksLikeJwe, parsePrivateKeyText } from './jwe.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const JWKS_PATH = '/.well-known/jwks.json';
let jwksCache = null; // { at, jwks }
let current = null; // the decoded token (the inner one of a JWE, once decrypted)
let currentJwe = null; // the decoded JWE, when the pasted token is one
let runId = 0;
let decryptRunId = 0;
let tokenEdited = false; // the token changed and decodeNow has not run yet

/** Pretty JSON as coloured spans (keys, strings, numbers, literals). */
function renderJson(value, indent = 0) {
  const frag = document.createDocumentFragment();
  const pad = (n) => '  '.repeat(n);
  const put = (cls, text) => frag.append(cls ? el('span', cls, text) : document.createTextNode(text));
  if (value === null || typeof value === 'boolean') put('j-lit', String(value));
  else if (typeof value === 'number') put('j-num', String(value));
  else if (typeof value === 'string') put('j-str', JSON.stringify(value));
  else if (Array.isArray(value)) {
    if (value.length === 0) put('', '[]');
    else {
      put('', '[\n');
      value.forEach((v, i) => {
        put('', pad(indent + 1));
        frag.append(renderJson(v, indent + 1));
        put('', i < value.length - 1 ? ',\n' : '\n');
      });
      put('', `${pad(indent)}]`);
    }
  } else {
    const entries = Object.entries(value);
    if (entries.length === 0) put('', '{}');
    else {
      put('', '{\n');
      entries.forEach(([k, v], i) => {
        put('', pad(indent + 1));
        put('j-key', JSON.stringify(k));
        put('', ': ');
        frag.append(renderJson(v, indent + 1));
        put('', i < entries.length - 1 ? ',\n' : '\n');
      });
      put('', `${pad(indent)}}`);
    }
  }
  return frag;
}

function setVerdict(state, message) {
  const v = $('verdict');
  v.dataset.state = state;
  v.textContent = message;
}

function clearDecoded() {
  for (const id of ['header', 'payload', 'signature', 'enc-header', 'enc-payload', 'enc-signature', 'alg', 'typ', 'kid']) {
    $(id).textContent = '';
  }
  $('times').tBodies[0].replaceChildren();
  $('warnings').replaceChildren();
  $('colored').hidden = true;
  $('summary').hidden = true;
  $('no-times').hidden = false;
  $('inner-note').hidden = true;
  $('colored-note').hidden = true;
  runId++; // a verification still running is about a token no longer shown
}

function clearJwe() {
  currentJwe = null;
  decryptRunId++;
  for (const id of ['jwe-header', 'jwe-alg', 'jwe-enc', 'jwe-cty', 'jwe-kid', 'jwe-status']) $(id).textContent = '';
  $('jwe-status').dataset.state = 'idle';
  $('jwe-box').hidden = true;
}

function source() {
  return document.querySelector('input[name="source"]:checked').value;
}

function showSourceInputs() {
  const s = source();
  $('key-box').hidden = s !== 'key';
  $('secret-box').hidden = s !== 'secret';
}

function currentSecretLength() {
  if (!current || source() !== 'secret') return undefined;
  try {
    const bytes = secretBytes($('secret').value, $('secret-encoded').checked);
    return bytes.length > 0 ? bytes.length : undefined;
  } catch {
    return undefined;
  }
}

function renderWarnings() {
  const list = $('warnings');
  list.replaceChildren();
  if (!current) return;
  const found = warnings(current, { now: Math.floor(Date.now() / 1000), secretBytes: currentSecretLength() });
  if (found.length === 0) list.append(el('li', 'ok', 'None found.'));
  for (const w of found) {
    const li = el('li', `warn-${w.level}`);
    li.dataset.code = w.code;
    li.append(el('strong', '', w.level === 'danger' ? 'Danger: ' : w.level === 'warn' ? 'Warning: ' : 'Note: '));
    li.append(document.createTextNode(w.message));
    list.append(li);
  }
}

let shownTimes = '';

function renderTimes() {
  const body = $('times').tBodies[0];
  const rows = current ? timeClaims(current.payload, Math.floor(Date.now() / 1000)) : [];
  const key = JSON.stringify(rows);
  if (key === shownTimes && body.childElementCount === rows.length) return; // nothing changed
  shownTimes = key;
  body.replaceChildren();
  $('no-times').hidden = rows.length > 0;
  $('times').hidden = rows.length === 0;
  for (const r of rows) {
    const tr = el('tr');
    tr.dataset.claim = r.name;
    tr.dataset.state = r.state;
    const th = el('th', 'mono', r.name);
    th.scope = 'row';
    tr.append(th);
    const date = el('td');
    date.append(el('span', 'mono', String(r.value)));
    if (r.date) {
      const time = el('time', '', r.date.replace('T', ' ').replace('Z', ' UTC'));
      time.dateTime = r.date;
      date.append(el('br'), time);
    }
    tr.append(date);
    tr.append(el('td', `state state-${r.state}`, r.note));
    body.append(tr);
  }
}

function showDecodeError(message) {
  const err = $('decode-error');
  err.textContent = message;
  err.hidden = false;
  setVerdict('idle', 'Nothing to verify.');
  $('times').hidden = true;
}

function decodeNow() {
  tokenEdited = false;
  const text = $('token').value;
  current = null;
  clearDecoded();
  clearJwe();
  if (!text.trim()) {
    $('decode-error').hidden = true;
    setVerdict('idle', 'Paste a token to verify it.');
    $('times').hidden = true;
    return;
  }
  if (looksLikeJwe(text)) {
    openJwe(text);
    return;
  }
  let decoded;
  try {
    decoded = decodeJwt(text);
  } catch (e) {
    showDecodeError(e instanceof JwtError ? `Not a JWT: ${e.message}.` : `Not a JWT: ${e}`);
    return;
  }
  $('decode-error').hidden = true;
  showJws(decoded);
}

/** Shows a decoded JWS (pasted, or decrypted from a JWE) and verifies it. */
function showJws(decoded) {
  current = decoded;
  const [h, p, s] = current.parts;
  $('enc-header').textContent = h;
  $('enc-payload').textContent = p;
  $('enc-signature').textContent = s;
  $('colored').hidden = false;
  $('header').append(renderJson(current.header));
  if (current.payload !== undefined && !current.payloadError) $('payload').append(renderJson(current.payload));
  else $('payload').textContent = current.payloadText;
  $('signature').textContent = s ? `${s} (${current.signature.length} bytes)` : '(empty: the token is unsigned)';
  $('alg').textContent = typeof current.header.alg === 'string' ? current.header.alg : '(none)';
  $('typ').textContent = typeof current.header.typ === 'string' ? current.header.typ : '—';
  $('kid').textContent = typeof current.header.kid === 'string' ? current.header.kid : '—';
  $('summary').hidden = false;
  renderTimes();
  renderWarnings();
  verifyNow();
}

function setJweStatus(state, message) {
  const v = $('jwe-status');
  v.dataset.state = state;
  v.textContent = message;
}

/** A pasted JWE: show its protected header, then decrypt with the pasted key. */
function openJwe(text) {
  try {
    currentJwe = decodeJwe(text);
  } catch (e) {
    showDecodeError(`Not a usable JWE: ${e instanceof JweError ? e.message : e}.`);
    return;
  }
  $('decode-error').hidden = true;
  const h = currentJwe.header;
  $('jwe-header').append(renderJson(h));
  $('jwe-alg').textContent = currentJwe.alg;
  $('jwe-enc').textContent = currentJwe.enc;
  $('jwe-cty').textContent = typeof h.cty === 'string' ? h.cty : '—';
  $('jwe-kid').textContent = typeof h.kid === 'string' ? h.kid : '—';
  $('jwe-box').hidden = false;
  decryptNow();
}

/** Decrypts the current JWE with the pasted key; shows the inner token. */
async function decryptNow() {
  if (tokenEdited) return; // decodeNow is due, and decrypts the new token
  const id = ++decryptRunId;
  current = null;
  clearDecoded();
  if (!currentJwe) return;
  const keyText = $('jwe-key').value;
  if (!keyText.trim()) {
    setJweStatus('idle', 'Paste the private key (a JWK, or a JWKS) to decrypt.');
    setVerdict('idle', 'Decrypt the token to verify the signed token inside.');
    return;
  }
  setJweStatus('pending', 'Decrypting…');
  let result;
  try {
    result = await decryptJwe(currentJwe, parsePrivateKeyText(keyText));
  } catch (e) {
    if (id !== decryptRunId) return;
    setJweStatus('error', `Cannot decrypt: ${e instanceof JweError ? e.message : e}.`);
    setVerdict('idle', 'Nothing to verify.');
    return;
  }
  if (id !== decryptRunId) return;
  const how = `${currentJwe.alg}, ${currentJwe.enc}${result.kid ? `, kid ${result.kid}` : ''}`;
  const looksSigned = result.text !== null && result.text.trim().split('.').length === 3;
  if (result.nested || looksSigned) {
    let inner;
    try {
      inner = decodeJwt(result.text ?? '');
    } catch (e) {
      setJweStatus('error', `Decrypted (${how}), but the content is not a JWT: ${e instanceof JwtError ? e.message : e}.`);
      setVerdict('idle', 'Nothing to verify.');
      return;
    }
    const note = result.nested ? '' : ' (the header has no cty "JWT", but the content is a signed token)';
    setJweStatus('valid', `Decrypted (${how}): a nested JWT${note}, shown and verified below.`);
    $('inner-note').hidden = false;
    $('colored-note').hidden = false;
    showJws(inner);
    return;
  }
  setJweStatus('valid', `Decrypted (${how}): the content is not a JWT, so there is no signature to verify.`);
  showPlaintext(result);
  setVerdict('idle', 'Nothing to verify: the decrypted content is not a signed token.');
}

/** Decrypted content that is not a JWT: as JSON when it is JSON, else as text (or its size). */
function showPlaintext(result) {
  let value;
  try {
    value = result.text === null ? undefined : JSON.parse(result.text);
  } catch {
    value = undefined;
  }
  if (value !== undefined) $('payload').append(renderJson(value));
  else $('payload').textContent = result.text ?? `(${result.plaintext.length} bytes of binary content)`;
}

async function serverJwks(refresh) {
  if (!jwksCache || refresh || Date.now() - jwksCache.at > 60_000) {
    // A plain GET with no token in it: no credentials, no referrer.
    const res = await fetch(JWKS_PATH, { credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-cache' });
    if (!res.ok) throw new JwtError(`${JWKS_PATH} answered ${res.status}`);
    jwksCache = { at: Date.now(), jwks: await res.json() };
  }
  return jwksCache.jwks;
}

async function verifyNow() {
  const id = ++runId;
  if (!current) {
    if (currentJwe && $('jwe-status').dataset.state !== 'error') setVerdict('idle', 'Decrypt the token to verify the signed token inside.');
    else setVerdict('idle', $('token').value.trim() ? 'Nothing to verify.' : 'Paste a token to verify it.');
    return;
  }
  const s = source();
  renderWarnings();
  setVerdict('pending', s === 'server' ? 'Verifying against this server’s keys…' : 'Verifying…');
  let result;
  try {
    if (s === 'server') {
      let jwks = await serverJwks(false);
      result = await verifyJwt(current, { kind: 'jwks', jwks });
      if (result.state === 'error' && /No key with kid/.test(result.message)) {
        jwks = await serverJwks(true); // the key may be newer than the cache
        result = await verifyJwt(current, { kind: 'jwks', jwks });
      }
    } else if (s === 'key') {
      const text = $('key').value;
      if (!text.trim()) result = { state: 'idle', message: 'Paste a JWK, a JWKS or a PEM public key.' };
      else result = await verifyJwt(current, parseKeyText(text));
    } else {
      const text = $('secret').value;
      if (!text) result = { state: 'idle', message: 'Enter the secret.' };
      else result = await verifyJwt(current, { kind: 'secret', secret: secretBytes(text, $('secret-encoded').checked) });
    }
  } catch (e) {
    result = { state: 'error', message: e instanceof JwtError ? `${e.message}.` : String(e.message || e) };
  }
  if (id === runId) setVerdict(result.state, result.message);
}

function debounce(fn, ms) {
  let t;
  return () => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}

function fromFragment() {
  const frag = location.hash.slice(1);
  if (!frag) return;
  let token = frag;
  try {
    token = decodeURIComponent(frag);
  } catch {
    // keep it raw
  }
  $('token').value = token;
  // Take the token out of the address bar (and so out of history and bookmarks).
  history.replaceState(null, '', location.pathname + location.search);
  decodeNow();
}

function init() {
  // Any edit makes the old verdict stale at once; the new one follows.
  const stale = (fn) => () => {
    setVerdict('pending', 'Checking…');
    if (!$('jwe-box').hidden) setJweStatus('pending', 'Checking…');
    fn();
  };
  const decodeSoon = stale(debounce(decodeNow, 150));
  $('token').addEventListener('input', () => {
    tokenEdited = true;
    decodeSoon();
  });
  for (const r of document.querySelectorAll('input[name="source"]')) {
    r.addEventListener('change', () => {
      showSourceInputs();
      verifyNow();
    });
  }
  $('key').addEventListener('input', stale(debounce(verifyNow, 250)));
  $('secret').addEventListener('input', stale(debounce(verifyNow, 250)));
  $('secret-encoded').addEventListener('change', verifyNow);
  $('jwe-key').addEventListener('input', stale(debounce(decryptNow, 250)));
  $('verify-form').addEventListener('submit', (e) => {
    e.preventDefault();
    verifyNow();
  });
  window.addEventListener('hashchange', fromFragment);
  showSourceInputs();
  $('times').hidden = true;
  fromFragment();
  // Times are relative to now: keep them current.
  setInterval(() => {
    if (current) {
      renderTimes();
    }
  }, 1000);
  document.documentElement.dataset.ready = 'true';
}

init();
