// The admin console (/admin) in headless Chromium against a real `tessera
// serve` (4-second access tokens, so the console's cookie refresh is used):
// an admin signs in through the hosted login page (code + PKCE as the seeded
// first-party public client), finds a user, changes roles, ends a session,
// disables the user (whose refresh then fails), creates a client and uses
// its secret with a real HTTP request, rotates a key, and filters the audit
// log down to those very actions; a non-admin is refused; the page asks
// nothing of another origin; and no inline script runs under its CSP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, PASSWORD, sleep, startTessera, TTL } from './harness.js';
import { authenticator } from 'otplib';
import { cli, login, refreshFromNode, register, signIn, watchedPage } from './admin-console.js';

let browser;
let server;
const stamp = Date.now();
const ADMIN = `root-${stamp}@example.com`;
const TARGET = `target-${stamp}@example.com`;
const PLAIN = `plain-${stamp}@example.com`;
const everyRequest = [];
let adminId;
let targetId;

before(async () => {
  browser = await launch();
  server = await startTessera({});
  adminId = (await register(server, ADMIN)).id;
  targetId = (await register(server, TARGET)).id;
  await register(server, PLAIN);
  cli(server, ['users', 'set-roles', '--email', ADMIN, '--role', 'admin']);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the console is served with its own narrow CSP, and its client is seeded', async () => {
  const res = await fetch(`${server.url}/admin/`);
  assert.equal(res.status, 200);
  assert.equal(
    res.headers.get('content-security-policy'),
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
      "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  const clients = cli(server, ['clients', 'list']);
  const console_ = clients.find((c) => (c.id ?? c.client_id) === 'tessera-console');
  assert.ok(console_, JSON.stringify(clients));
  assert.equal(console_.public, true);
  assert.equal(console_.first_party, true);
});

test('an admin signs in and manages users, clients, keys and the audit log', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const context = await browser.newContext();
  const { p, problems, requests } = await watchedPage(context);
  await signIn(p, server, ADMIN);
  await p.waitForSelector('body[data-ready="true"]');
  assert.equal(await p.textContent('#who'), ADMIN);
  assert.equal(new URL(p.url()).search, '', 'the code and state are gone from the URL');
  // Tokens live in memory: nothing in storage, the refresh token only in an HttpOnly cookie.
  const stored = await p.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.doesNotMatch(stored, /eyJ|tsr_/);
  const cookie = (await context.cookies(server.url)).find((c) => c.name === 'tessera_refresh');
  assert.ok(cookie, 'the refresh cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');

  // The overview: every count with its 24 hourly bars, as the API reports
  // them, and the warnings (no administrator has a second factor yet).
  // (A login here, then one fresh render of the overview: the page shows the
  // same login count as the API answers next.)
  const adminToken = (await login(server, ADMIN)).access_token;
  await p.goto(`${server.url}/admin/#/overview`);
  await p.reload();
  const o = await (await fetch(`${server.url}/v1/admin/overview`, { headers: { authorization: `Bearer ${adminToken}` } })).json();
  const rendered = await p.waitForFunction((n) => {
    const fs = [...document.querySelectorAll('#counts figure')];
    if (fs.length !== n || !fs.every((f) => f.querySelector('svg.chart'))) return false;
    return fs.map((f) => ({
      key: f.dataset.count,
      bars: f.querySelectorAll('svg.chart rect.bar').length,
      label: f.querySelector('svg.chart').getAttribute('aria-label') ?? '',
      numbers: f.querySelector('.numbers')?.textContent ?? '',
    }));
  }, Object.keys(o.counts).length);
  const cards = await rendered.jsonValue();
  assert.deepEqual(cards.map((c) => c.key).sort(), Object.keys(o.counts).sort());
  for (const c of cards) assert.equal(c.bars, 24, c.key);
  const logins = cards.find((c) => c.key === 'logins');
  assert.ok(o.counts.logins.hour >= 2, JSON.stringify(o.counts.logins));
  assert.ok(logins.label.includes(o.series.logins.join(', ')), `${logins.label} vs ${o.series.logins}`);
  assert.ok(logins.numbers.startsWith(`${o.counts.logins.hour} last hour`), logins.numbers);
  assert.ok(await p.$('#warnings li[data-code="no_admin_with_mfa"]'), 'the MFA warning is shown');
  assert.equal(await p.textContent('#user-count'), String(o.users));

  // Two sessions of the target user, made outside the browser.
  const first = await login(server, TARGET);
  const second = await login(server, TARGET);

  // Find the user by email prefix.
  await p.click('#nav a[data-view="users"]');
  await p.waitForSelector('#user-search');
  await p.fill('#user-search', `target-${stamp}`);
  await p.press('#user-search', 'Enter');
  // The search re-renders the list: wait for it to hold the one match.
  await p.waitForFunction((id) => location.hash.includes('q=') && document.querySelectorAll('#users tbody tr').length === 1
    && document.querySelector(`#users tr[data-user="${id}"]`), targetId);
  await p.click(`#users tr[data-user="${targetId}"] a`);
  await p.waitForSelector('#user-email');
  assert.equal(await p.textContent('#user-email'), TARGET);
  assert.equal(await p.locator('#sessions tbody tr[data-session]').count(), 2);

  // Change roles.
  await p.fill('#roles', 'editor, viewer');
  await p.click('#roles-form button[type="submit"]');
  await p.waitForFunction(() => document.querySelector('#user-roles')?.textContent === 'editor, viewer');
  const listed = cli(server, ['users', 'list']).find((u) => u.email === TARGET);
  assert.deepEqual([...listed.roles].sort(), ['editor', 'viewer']);

  // Outlive the access token: the next action needs the console's cookie refresh.
  await sleep(TTL * 1000 + 500);

  // End one session: its refresh token dies, the other lives.
  const sessions = await p.$$eval('#sessions tbody tr[data-session]', (rows) => rows.map((r) => r.dataset.session));
  const ended = sessions[0];
  await p.click(`#sessions tr[data-session="${ended}"] .end-session`);
  await p.waitForFunction((sid) => !document.querySelector(`#sessions tr[data-session="${sid}"]`) && document.querySelector('#sessions'), ended);
  assert.ok(requests.some((u) => u === `${server.url}/oauth2/token`), 'the console refreshed at the token endpoint');
  const survivors = [first, second];
  let live = null;
  for (const t of survivors) {
    const res = await refreshFromNode(server, t.refresh_token);
    if (res.ok) live = (await res.json()).refresh_token;
  }
  assert.ok(live, 'the session that was not ended still refreshes');

  // Disable the user: its refresh then fails.
  await p.click('#disable');
  await p.waitForFunction(() => document.querySelector('#user-state')?.textContent === 'disabled');
  const refused = await refreshFromNode(server, live);
  assert.equal(refused.status, 401, await refused.text());

  // Create a confidential client; use its secret (shown once) for real.
  const clientId = `svc-${stamp}`;
  await p.click('#nav a[data-view="clients"]');
  await p.click('#new-client');
  await p.waitForSelector('#client-form');
  await p.fill('#client-id', clientId);
  await p.selectOption('#client-kind', 'confidential');
  await p.check('#client-form input[name="grant"][value="client_credentials"]');
  await p.fill('#client-scopes', 'reports:read');
  await p.click('#client-form button[type="submit"]');
  await p.waitForSelector('[data-secret]');
  const secret = await p.textContent('[data-secret]');
  assert.ok(secret.length >= 32);
  assert.ok(await p.$('.once button.copy'), 'a copy button');
  const cc = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=reports%3Aread',
  });
  assert.equal(cc.status, 200, await cc.clone().text());
  assert.equal((await cc.json()).scope, 'reports:read');
  await p.reload(); // the secret is gone for good: only its hash is stored
  await p.waitForSelector(`#clients tr[data-client="${clientId}"]`);
  assert.equal(await p.$('[data-secret]'), null);

  // Rotate a key, now.
  const before_ = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  await p.click('#nav a[data-view="keys"]');
  await p.waitForSelector('#keys');
  const rowsBefore = await p.locator('#keys tbody tr[data-kid]').count();
  await p.click('#rotate-now');
  await p.click('#confirm-ok');
  await p.waitForFunction((n) => document.querySelectorAll('#keys tbody tr[data-kid]').length > n, rowsBefore);
  const signing = await p.$eval('#keys tr[data-state="signing"]', (r) => r.dataset.kid);
  assert.ok(!before_.includes(signing), 'a new key signs');
  const after_ = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  assert.ok(after_.includes(signing));

  // The audit log, filtered down to this admin's actions since the test began.
  await p.click('#nav a[data-view="audit"]');
  await p.waitForSelector('#audit-filters');
  await p.fill('#f-actor', adminId);
  await p.fill('#f-since', await p.evaluate((s) => new Date((s - new Date().getTimezoneOffset() * 60) * 1000).toISOString().slice(0, 16), since - 60));
  await p.click('#audit-filters button[type="submit"]');
  await p.waitForFunction(() => location.hash.includes('actor='));
  // The filtered list replaces the whole log: wait for it (rows, all by this admin).
  await p.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#audit tbody tr[data-event]')];
    return rows.length > 0 && rows.every((r) => r.querySelector('.actor')?.textContent === id);
  }, adminId);
  const events = await p.$$eval('#audit tbody tr[data-event]', (rows) =>
    rows.map((r) => ({ event: r.dataset.event, actor: r.querySelector('.actor').textContent, target: r.querySelector('.target').textContent })));
  const names = new Set(events.map((e) => e.event));
  for (const want of ['roles.changed', 'session.revoked', 'user.disabled', 'key.rotated']) {
    assert.ok(names.has(want), `${want} in ${JSON.stringify([...names])}`);
  }
  assert.ok([...names].some((n) => n.startsWith('client.')), `a client event in ${JSON.stringify([...names])}`);
  for (const e of events) assert.equal(e.actor, adminId, JSON.stringify(e));
  assert.ok(events.filter((e) => e.event !== 'key.rotated' && !e.event.startsWith('client.')).every((e) => e.target === targetId));
  // Only this admin's actions: no login, no refresh of anyone.
  assert.ok(![...names].some((n) => n.startsWith('login.') || n.startsWith('refresh.')), JSON.stringify([...names]));
  // And by event: only key rotations.
  await p.fill('#f-event', 'key.rotated');
  await p.click('#audit-filters button[type="submit"]');
  await p.waitForFunction(() => location.hash.includes('event=key.rotated'));
  await p.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#audit tbody tr[data-event]')];
    return rows.length > 0 && rows.every((r) => r.dataset.event === 'key.rotated');
  });

  // A reload resumes from the refresh cookie (the access token was only in memory).
  await p.reload();
  await p.waitForSelector('body[data-ready="true"]');
  assert.equal(await p.textContent('#who'), ADMIN);

  // Sign out: the console's session ends, then the hosted logout page ends SSO.
  await Promise.all([p.waitForURL(`${server.url}/oauth2/logout?**`), p.click('#sign-out')]);
  await p.waitForSelector('#logout-form');
  await Promise.all([p.waitForURL(`${server.url}/admin/**`), p.click('#confirm')]);
  await p.waitForSelector('#sign-in');
  const names_ = (await context.cookies(server.url)).map((c) => c.name);
  assert.ok(!names_.includes('tessera_refresh') && !names_.includes('tessera_sso'), JSON.stringify(names_));
  // Signing in again asks for the password (no SSO session is left).
  await Promise.all([p.waitForURL(`${server.url}/oauth2/authorize?**`), p.click('#sign-in')]);
  await p.waitForSelector('#login-form');

  assert.deepEqual(problems, []);
  everyRequest.push(...requests);
  await context.close();
});

test('an admin edits and rotates a client, revokes a key, resets, enables and deletes a user', async () => {
  const context = await browser.newContext();
  const { p, problems, requests } = await watchedPage(context);
  await signIn(p, server, ADMIN);
  await p.waitForSelector('body[data-ready="true"]');
  const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const cc = (id, secret) =>
    fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
      body: 'grant_type=client_credentials',
    });

  // A client made here, edited, its secret rotated (old refused, new works), deleted.
  const id = `batch-${stamp}`;
  await p.goto(`${server.url}/admin/#/clients/new`);
  await p.waitForSelector('#client-form');
  await p.fill('#client-id', id);
  await p.check('#client-form input[name="grant"][value="client_credentials"]');
  await p.click('#client-form button[type="submit"]');
  const old = await (await p.waitForSelector('[data-secret]')).textContent();
  await p.click(`#clients tr[data-client="${id}"] a`);
  await p.waitForSelector('#client-form');
  await p.fill('#client-scopes', 'jobs:run');
  await p.click('#client-form button[type="submit"]');
  await p.waitForFunction((cid) => document.querySelector(`#clients tr[data-client="${cid}"]`)?.textContent.includes('jobs:run'), id);
  await p.click(`#clients tr[data-client="${id}"] .rotate-secret`);
  await p.click('#confirm-ok');
  await p.waitForFunction((o) => { const s = document.querySelector('[data-secret]'); return s && s.textContent !== o; }, old);
  const rotated = await p.textContent('[data-secret]');
  assert.equal((await cc(id, old)).status, 401);
  const ok = await cc(id, rotated);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).scope, 'jobs:run');
  await p.click(`#clients tr[data-client="${id}"] .delete-client`);
  assert.ok(await p.isDisabled('#confirm-ok'), 'deleting waits for the id to be typed');
  await p.fill('#confirm-input', id);
  await p.click('#confirm-ok');
  await p.waitForFunction((cid) => !document.querySelector(`#clients tr[data-client="${cid}"]`) && document.querySelector('#clients'), id);
  assert.equal((await cc(id, rotated)).status, 401);

  // Revoke the signing key: a new one signs, the old one leaves the JWKS.
  await p.click('#nav a[data-view="keys"]');
  const revoked = await (await p.waitForSelector('#keys tr[data-state="signing"]')).getAttribute('data-kid');
  await p.click(`#keys tr[data-kid="${revoked}"] .revoke-key`);
  await p.fill('#confirm-input', revoked);
  await p.click('#confirm-ok');
  await p.waitForSelector(`#keys tr[data-kid="${revoked}"][data-state="revoked"]`);
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  assert.ok(!jwks.includes(revoked), JSON.stringify(jwks));

  // A user: password-reset mail, disable and enable, delete (naming the user).
  const victim = `victim-${stamp}@example.com`;
  const victimId = (await register(server, victim)).id;
  await p.goto(`${server.url}/admin/#/users/${victimId}`);
  await p.waitForSelector('#password-reset');
  await p.click('#password-reset');
  await p.waitForFunction(() => /reset link/.test(document.querySelector('#notice')?.textContent ?? ''));
  // The victim enrols TOTP (a code from otplib): the console shows the
  // factor, and "Reset MFA" removes it, so the password alone works again.
  const post = (path, token, body) => fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const access = (await login(server, victim)).access_token;
  const enrol = await post('/v1/account/mfa/totp', access, {});
  assert.equal(enrol.status, 200);
  const { secret } = await enrol.json();
  const confirmed = await post('/v1/account/mfa/totp/confirm', access, { code: authenticator.generate(secret) });
  assert.equal(confirmed.status, 200);
  const asked = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: victim, password: PASSWORD }),
  });
  assert.equal(asked.status, 403);
  await p.goto(`${server.url}/admin/#/users?q=${encodeURIComponent(victim)}`);
  await p.waitForFunction((id) => document.querySelector(`#users tr[data-user="${id}"] td.mfa`)?.textContent === 'totp', victimId);
  await p.goto(`${server.url}/admin/#/users/${victimId}`);
  await p.waitForFunction(() => document.querySelector('#user-mfa')?.textContent === 'totp');
  await p.click('#reset-mfa');
  await p.click('#confirm-ok');
  await p.waitForFunction(() => document.querySelector('#user-mfa')?.textContent === 'not set up');
  assert.equal(await p.$('#reset-mfa'), null);
  await login(server, victim); // no second factor asked any more
  const resetRows = cli(server, ['audit', 'tail', '--event', 'mfa.reset']);
  assert.ok(JSON.stringify(resetRows).includes(victimId), JSON.stringify(resetRows));

  await p.click('#disable');
  await p.waitForSelector('#enable');
  await p.click('#enable');
  await p.waitForFunction(() => document.querySelector('#user-state')?.textContent === 'active');
  await login(server, victim); // enabled again: the login works
  await p.click('#delete-user');
  assert.match(await p.textContent('#confirm-text'), new RegExp(victim.replace(/[.]/g, '\\.')));
  await p.fill('#confirm-input', 'someone-else@example.com');
  assert.ok(await p.isDisabled('#confirm-ok'));
  await p.fill('#confirm-input', victim);
  await Promise.all([p.waitForFunction(() => location.hash === '#/users'), p.click('#confirm-ok')]);
  assert.ok(!cli(server, ['users', 'list']).some((u) => u.email === victim));

  // Revoking the key that signed the console's own access token makes the
  // next call a 401, which the console answers with a refresh and a retry.
  assert.deepEqual(problems.filter((m) => !/401/.test(m)), []);
  everyRequest.push(...requests);
  await context.close();
});

test('a non-admin is refused', async () => {
  const context = await browser.newContext();
  const { p, problems, requests } = await watchedPage(context);
  await signIn(p, server, PLAIN);
  await p.waitForSelector('#not-admin');
  assert.match(await p.textContent('#not-admin'), /Not an administrator/);
  assert.ok(await p.isHidden('#nav'));
  // The API says so too, for the very token the console holds.
  assert.ok(problems.every((m) => /403/.test(m)), JSON.stringify(problems));
  everyRequest.push(...requests);
  await context.close();
});

test('no inline script runs under the console CSP', async () => {
  const context = await browser.newContext();
  const { p, requests } = await watchedPage(context);
  await p.goto(`${server.url}/admin/`);
  await p.waitForSelector('#sign-in');
  const outcome = await p.evaluate(
    () =>
      new Promise((resolve) => {
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        const s = document.createElement('script');
        s.textContent = 'window.__inline = true;';
        document.body.append(s);
        const a = document.createElement('a');
        a.setAttribute('onclick', 'window.__handler = true');
        document.body.append(a);
        a.click();
        setTimeout(() => resolve({ inline: window.__inline ?? false, handler: window.__handler ?? false, violations }), 300);
      }),
  );
  assert.equal(outcome.inline, false);
  assert.equal(outcome.handler, false);
  assert.ok(outcome.violations.some((v) => v.startsWith('script-src')), JSON.stringify(outcome.violations));
  everyRequest.push(...requests);
  await context.close();
});

test('the console makes no request outside its origin', () => {
  assert.ok(everyRequest.length > 20, `${everyRequest.length} requests recorded`);
  const foreign = everyRequest.filter((u) => new URL(u).origin !== server.url);
  assert.deepEqual(foreign, []);
});
