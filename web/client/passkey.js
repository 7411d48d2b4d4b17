// @tessera/client passkeys (WebAuthn): the browser side of Tessera's passkey
// ceremonies. Plain ES module, no dependencies; the server serves it at
// /client/passkey.js. Types: ./index.d.ts.
//
// Tessera sends WebAuthn options as JSON with binary members in base64url
// and takes credentials back the same way; these helpers convert between
// that JSON and the ArrayBuffers `navigator.credentials` works with, and run
// each ceremony end to end:
//   registerPasskey      options (Bearer) -> create() -> POST /v1/account/passkeys
//   signInWithPasskey    options -> get() -> POST /v1/auth/passkey (a token pair)
//   passkeyAsSecondFactor  a sign-in's mfa_token -> get() -> POST /v1/auth/mfa

/** base64url (with or without padding) to an ArrayBuffer. */
export function b64urlToBuffer(text) {
  const b64 = String(text).replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** An ArrayBuffer (or a view of one) to unpadded base64url. */
export function bufferToB64url(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const withIds = (list) => (list ?? []).map((c) => ({ ...c, id: b64urlToBuffer(c.id) }));

/** Tessera's creation options (`publicKey` JSON) as `navigator.credentials.create` takes them. */
export function creationOptionsFromJSON(publicKey) {
  return {
    ...publicKey,
    challenge: b64urlToBuffer(publicKey.challenge),
    user: { ...publicKey.user, id: b64urlToBuffer(publicKey.user.id) },
    excludeCredentials: withIds(publicKey.excludeCredentials),
  };
}

/** Tessera's request options (`publicKey` JSON) as `navigator.credentials.get` takes them. */
export function requestOptionsFromJSON(publicKey) {
  return {
    ...publicKey,
    challenge: b64urlToBuffer(publicKey.challenge),
    allowCredentials: withIds(publicKey.allowCredentials),
  };
}

/** A `PublicKeyCredential` (from create or get) as the JSON Tessera takes. */
export function credentialToJSON(cred) {
  const r = cred.response;
  const response = { clientDataJSON: bufferToB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = bufferToB64url(r.attestationObject);
    if (typeof r.getTransports === 'function') response.transports = r.getTransports();
  } else {
    response.authenticatorData = bufferToB64url(r.authenticatorData);
    response.signature = bufferToB64url(r.signature);
    if (r.userHandle) response.userHandle = bufferToB64url(r.userHandle);
  }
  const ext = typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {};
  return {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    response,
    extensions: JSON.parse(JSON.stringify(ext ?? {})),
  };
}

/** A Tessera error answer (or a network failure) as an Error with `status`, `code`, `description`. */
async function fail(res, what) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // not JSON
  }
  const err = new Error(`${what}: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim());
  err.name = 'TesseraError';
  err.status = res.status;
  err.code = body.error ?? '';
  err.description = body.error_description ?? '';
  return err;
}

async function postJSON(opts, path, body, what, headers = {}) {
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const res = await f(`${opts.baseUrl ?? ''}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body ?? {}),
    credentials: opts.cookie ? 'include' : 'same-origin',
  });
  if (!res.ok) throw await fail(res, what);
  return res.json();
}

const creds = (opts) => opts.credentials ?? globalThis.navigator.credentials;

/**
 * Adds a passkey to the signed-in user's account: creation options (with the
 * access token), the authenticator's prompt, then the registration.
 * Resolves to the new passkey `{id, name, created_at, last_used_at, synced}`.
 */
export async function registerPasskey({ accessToken, name, ...opts }) {
  const auth = { Authorization: `Bearer ${accessToken}` };
  const o = await postJSON(opts, '/v1/account/passkeys/options', {}, 'passkey options', auth);
  const cred = await creds(opts).create({ publicKey: creationOptionsFromJSON(o.publicKey) });
  if (!cred) throw new Error('no passkey was created');
  const body = { ceremony: o.ceremony, credential: credentialToJSON(cred) };
  if (name) body.name = name;
  return postJSON(opts, '/v1/account/passkeys', body, 'passkey registration', auth);
}

/**
 * Signs in with a discoverable passkey, no password: resolves to the token
 * answer of `POST /v1/auth/passkey` (with `cookie: true`, the refresh token
 * is set as Tessera's HttpOnly cookie instead). `mediation: 'conditional'`
 * offers passkeys in the autofill of an `autocomplete="username webauthn"` input.
 */
export async function signInWithPasskey({ mediation, signal, headers, ...opts } = {}) {
  const o = await postJSON(opts, '/v1/auth/passkey/options', {}, 'passkey options');
  const req = { publicKey: requestOptionsFromJSON(o.publicKey) };
  if (mediation) req.mediation = mediation;
  if (signal) req.signal = signal;
  const cred = await creds(opts).get(req);
  if (!cred) throw new Error('no passkey was chosen');
  const body = { ceremony: o.ceremony, credential: credentialToJSON(cred), cookie: Boolean(opts.cookie) };
  return postJSON(opts, '/v1/auth/passkey', body, 'passkey sign-in', headers);
}

/**
 * The second step of a sign-in that answered `mfa_required`: a passkey of
 * that user (only theirs are offered) completes it. Resolves to the token
 * answer of `POST /v1/auth/mfa`.
 */
export async function passkeyAsSecondFactor({ mfaToken, headers, ...opts }) {
  const o = await postJSON(opts, '/v1/auth/mfa/passkey/options', { mfa_token: mfaToken, cookie: Boolean(opts.cookie) }, 'passkey options', headers);
  const cred = await creds(opts).get({ publicKey: requestOptionsFromJSON(o.publicKey) });
  if (!cred) throw new Error('no passkey was chosen');
  const body = { mfa_token: mfaToken, passkey: credentialToJSON(cred), cookie: Boolean(opts.cookie) };
  return postJSON(opts, '/v1/auth/mfa', body, 'second factor', headers);
}
