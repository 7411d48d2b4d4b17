// Passkeys (WebAuthn) in headless Chromium against real servers, with the
// DevTools virtual authenticator (a CTAP2 platform authenticator with
// resident keys and user verification): register a passkey, sign in with it
// and no password, use it as the second factor of a password login, and
// see a credential used on another origin refused.
// The servers' issuers are http://localhost:<port>: WebAuthn takes no IP
// address as an RP ID.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, PASSWORD, startTessera, userTokens } from './harness.js';

let browser;
let a; // the relying party under test
let b; // another origin (same RP ID `localhost`, its own origin only)

before(async () => {
  browser = await launch();
  [a, b] = await Promise.all([startTessera({ localhost: true }), startTessera({ localhost: true })]);
});

after(async () => {
  await browser?.close();
  await a?.stop();
  await b?.stop();
});

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

/** A page on `server`'s origin with a virtual authenticator of its own. */
async function pageWithAuthenticator(context, server) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.origin}/demo`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  return { page, cdp, authenticatorId, errors };
}

/** Runs `fn(arg)` in the page (`window.passkeyModule`: /client/passkey.js), with the client's passkey helpers imported from the server. */
async function inPage(page, fn, arg) {
  await page.evaluate(async () => {
    window.passkeyModule ??= await import('/client/passkey.js');
  });
  return page.evaluate(fn, arg);
}

async function api(server, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

test('register a passkey, then sign in with it and no password', async () => {
  const context = await browser.newContext();
  try {
    const { page, cdp, authenticatorId, errors } = await pageWithAuthenticator(context, a);
    const tokens = await userTokens(a.url);
    const me = claims(tokens.access_token).sub;

    const added = await inPage(page, (t) => window.passkeyModule.registerPasskey({ accessToken: t, name: 'Laptop' }), tokens.access_token);
    assert.equal(added.name, 'Laptop');
    assert.equal(added.last_used_at, null);

    // The authenticator holds a discoverable credential for RP ID `localhost`
    // whose user handle is not the account id (it is derived, opaque).
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
    assert.equal(credentials[0].rpId, 'localhost');
    assert.notEqual(Buffer.from(credentials[0].userHandle, 'base64').toString('utf8'), me);

    const list = await api(a, 'GET', '/v1/account/passkeys', { token: tokens.access_token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.passkeys.map((p) => p.id), [added.id]);

    // Passwordless: the browser offers the discoverable credential; the
    // answer is a token pair for that account.
    const signed = await inPage(page, () => window.passkeyModule.signInWithPasskey());
    assert.equal(signed.token_type, 'Bearer');
    assert.ok(signed.refresh_token, 'bearer mode: the refresh token is in the body');
    const c = claims(signed.access_token);
    assert.equal(c.sub, me);
    assert.notEqual(c.sid, claims(tokens.access_token).sid, 'a new session');
    // RFC 8176: a device-bound (hwk) or synced (swk) key, user-verified.
    assert.deepEqual(c.amr.filter((m) => m !== 'hwk' && m !== 'swk'), ['user', 'mfa']);
    assert.equal(c.amr.length, 3, JSON.stringify(c.amr));
    const who = await api(a, 'GET', '/v1/me', { token: signed.access_token });
    assert.equal(who.status, 200);
    assert.equal(who.body.id, me);

    // The use is recorded (and the authenticator's counter moved on).
    const after1 = await api(a, 'GET', '/v1/account/passkeys', { token: signed.access_token });
    assert.equal(typeof after1.body.passkeys[0].last_used_at, 'number');
    const { credentials: [cred] } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(cred.signCount >= 2, `signCount ${cred.signCount}`);

    // Cookie mode works as at login: no refresh token in the body.
    const cookieMode = await inPage(page, () => window.passkeyModule.signInWithPasskey({ cookie: true }));
    assert.equal(cookieMode.refresh_token, undefined);
    const cookies = await context.cookies(a.origin);
    assert.ok(cookies.some((k) => k.name === 'tessera_refresh' && k.httpOnly), JSON.stringify(cookies.map((k) => k.name)));

    // A second sign-in with the same ceremony id is refused (single use).
    const o = await api(a, 'POST', '/v1/auth/passkey/options');
    assert.equal(o.status, 200);
    assert.equal(o.body.publicKey.userVerification, 'required');
    const assertion = await inPage(
      page,
      async (pk) => { const m = window.passkeyModule; return m.credentialToJSON(await navigator.credentials.get({ publicKey: m.requestOptionsFromJSON(pk) })); },
      o.body.publicKey,
    );
    const first = await api(a, 'POST', '/v1/auth/passkey', { body: { ceremony: o.body.ceremony, credential: assertion } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await api(a, 'POST', '/v1/auth/passkey', { body: { ceremony: o.body.ceremony, credential: assertion } });
    assert.equal(again.status, 400);
    assert.match(again.body.error_description, /ceremony/);

    // Removing it: it no longer signs in.
    const del = await api(a, 'DELETE', `/v1/account/passkeys/${added.id}`, { token: signed.access_token });
    assert.equal(del.status, 204);
    const refused = await inPage(page, () => window.passkeyModule.signInWithPasskey().then(() => 'signed in', (e) => `${e.status} ${e.code}`));
    assert.equal(refused, '401 invalid_credentials');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a passkey used on another origin is refused, at registration and at sign-in', async () => {
  const context = await browser.newContext();
  try {
    const onA = await pageWithAuthenticator(context, a);
    const tokens = await userTokens(a.url);
    await inPage(onA.page, (t) => window.passkeyModule.registerPasskey({ accessToken: t }), tokens.access_token);

    // The same credential (RP ID `localhost`) in a browser on B's origin.
    const onB = await pageWithAuthenticator(context, b);
    const { credentials } = await onA.cdp.send('WebAuthn.getCredentials', { authenticatorId: onA.authenticatorId });
    await onB.cdp.send('WebAuthn.addCredential', { authenticatorId: onB.authenticatorId, credential: credentials[0] });

    // A's sign-in options, answered by the browser on B's origin: A refuses.
    const o = await api(a, 'POST', '/v1/auth/passkey/options');
    const assertion = await inPage(
      onB.page,
      async (pk) => { const m = window.passkeyModule; return m.credentialToJSON(await navigator.credentials.get({ publicKey: m.requestOptionsFromJSON(pk) })); },
      o.body.publicKey,
    );
    const origin = JSON.parse(Buffer.from(assertion.response.clientDataJSON, 'base64url').toString('utf8')).origin;
    assert.equal(origin, b.origin);
    const refused = await api(a, 'POST', '/v1/auth/passkey', { body: { ceremony: o.body.ceremony, credential: assertion } });
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_credentials');

    // The same credential on A's own origin signs in (the refusal was the origin).
    const ok = await inPage(onA.page, () => window.passkeyModule.signInWithPasskey());
    assert.equal(claims(ok.access_token).sub, claims(tokens.access_token).sub);

    // A registration created on B's origin for A's options: A refuses it.
    const fresh = await userTokens(a.url);
    const ro = await api(a, 'POST', '/v1/account/passkeys/options', { token: fresh.access_token });
    assert.equal(ro.status, 200);
    assert.equal(ro.body.publicKey.authenticatorSelection.residentKey, 'required');
    const created = await inPage(
      onB.page,
      async (pk) => { const m = window.passkeyModule; return m.credentialToJSON(await navigator.credentials.create({ publicKey: m.creationOptionsFromJSON(pk) })); },
      ro.body.publicKey,
    );
    const reg = await api(a, 'POST', '/v1/account/passkeys', {
      token: fresh.access_token,
      body: { ceremony: ro.body.ceremony, credential: created },
    });
    assert.equal(reg.status, 400, JSON.stringify(reg.body));
    assert.match(reg.body.error_description, /credential/);
    const none = await api(a, 'GET', '/v1/account/passkeys', { token: fresh.access_token });
    assert.deepEqual(none.body.passkeys, []);
  } finally {
    await context.close();
  }
});

test('a passkey as the second factor of a password login', async () => {
  const context = await browser.newContext();
  try {
    const { page, cdp, authenticatorId, errors } = await pageWithAuthenticator(context, a);
    const email = `mfa-${Math.random().toString(36).slice(2)}@example.com`;
    const tokens = await userTokens(a.url, email);
    await inPage(page, (t) => window.passkeyModule.registerPasskey({ accessToken: t, name: 'Phone' }), tokens.access_token);
    const state = await api(a, 'GET', '/v1/account/mfa', { token: tokens.access_token });
    assert.equal(state.body.passkeys, 1);
    assert.ok(state.body.methods.includes('passkey'), JSON.stringify(state.body));

    // The password alone no longer signs in: a second factor is asked for.
    const login = await api(a, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    assert.equal(login.status, 403);
    assert.equal(login.body.error, 'mfa_required');
    assert.ok(login.body.methods.includes('passkey'), JSON.stringify(login.body.methods));
    assert.equal(login.body.access_token, undefined);

    // The options allow only this user's passkey.
    const o = await api(a, 'POST', '/v1/auth/mfa/passkey/options', { body: { mfa_token: login.body.mfa_token } });
    assert.equal(o.status, 200, JSON.stringify(o.body));
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const want = Buffer.from(credentials[0].credentialId, 'base64').toString('base64url');
    assert.deepEqual(o.body.publicKey.allowCredentials.map((c) => c.id), [want]);

    // The browser's helper runs the step end to end (new options replace those above).
    const done = await inPage(page, (t) => window.passkeyModule.passkeyAsSecondFactor({ mfaToken: t }), login.body.mfa_token);
    const c = claims(done.access_token);
    assert.equal(c.sub, claims(tokens.access_token).sub);
    assert.equal(c.amr[0], 'pwd');
    assert.ok(['hwk', 'swk'].includes(c.amr[1]), JSON.stringify(c.amr));
    assert.equal(c.amr[2], 'mfa');

    // Recovery codes for when the device is lost; removing the last
    // passkey (no factor left) removes them too, and the password alone
    // signs in again.
    const rc = await api(a, 'POST', '/v1/account/mfa/recovery-codes', { token: done.access_token, body: {} });
    assert.equal(rc.status, 200, JSON.stringify(rc.body));
    assert.equal(rc.body.recovery_codes.length, 10);
    const mine = await api(a, 'GET', '/v1/account/passkeys', { token: done.access_token });
    const gone = await api(a, 'DELETE', `/v1/account/passkeys/${mine.body.passkeys[0].id}`, { token: done.access_token });
    assert.equal(gone.status, 204);
    const after = await api(a, 'GET', '/v1/account/mfa', { token: done.access_token });
    assert.deepEqual([after.body.passkeys, after.body.recovery_codes_left, after.body.methods], [0, 0, []]);
    const plain = await api(a, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    await inPage(page, (t) => window.passkeyModule.registerPasskey({ accessToken: t, name: 'Phone again' }), plain.body.access_token);

    // The mfa_token is spent.
    const again = await inPage(
      page,
      (t) => window.passkeyModule.passkeyAsSecondFactor({ mfaToken: t }).then(() => 'ok', (e) => `${e.status} ${e.code}`),
      login.body.mfa_token,
    );
    assert.equal(again, '401 invalid_mfa_token');

    // Another user's passkey does not complete this user's login.
    const other = await userTokens(a.url);
    const page2 = await pageWithAuthenticator(context, a);
    await inPage(page2.page, (t) => window.passkeyModule.registerPasskey({ accessToken: t }), other.access_token);
    const login2 = await api(a, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    const o2 = await api(a, 'POST', '/v1/auth/mfa/passkey/options', { body: { mfa_token: login2.body.mfa_token } });
    const foreign = await inPage(
      page2.page,
      async (pk) => {
        const m = window.passkeyModule;
        const opts = m.requestOptionsFromJSON(pk);
        delete opts.allowCredentials; // let the other user's discoverable key answer
        return m.credentialToJSON(await navigator.credentials.get({ publicKey: opts }));
      },
      o2.body.publicKey,
    );
    const refused = await api(a, 'POST', '/v1/auth/mfa', { body: { mfa_token: login2.body.mfa_token, passkey: foreign } });
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_credentials');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the demo: add a passkey, log out, sign in with it', async () => {
  const context = await browser.newContext();
  try {
    const { page: p, errors } = await pageWithAuthenticator(context, a);
    await p.waitForSelector('html[data-ready="true"]');
    await p.waitForSelector('#passkey-add', { state: 'visible' });
    await p.click('#register');
    await p.waitForSelector('#log li[data-kind="registered"]');
    await p.click('#login');
    await p.waitForSelector('#status[data-state="active"]');
    await p.click('#passkey-add');
    await p.waitForSelector('#log li[data-kind="passkey-added"]');
    await p.click('#logout');
    await p.waitForSelector('#status[data-state="none"]');
    await p.click('#passkey-signin');
    await p.waitForSelector('#log li[data-kind="passkey-login"]');
    assert.equal(await p.getAttribute('#status', 'data-state'), 'active');
    assert.match(await p.textContent('#log li[data-kind="passkey-login"]'), /"mfa"/);
    await p.click('#me');
    await p.waitForFunction(() => document.getElementById('me-result').textContent.includes('"email"'));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
