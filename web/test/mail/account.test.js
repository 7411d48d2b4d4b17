// The account lifecycle end to end, with real email (issue 15), run by
// `.ci/mail`: a `tessera serve` whose `smtp_url` points at an aiosmtpd sink
// (`.ci/smtp_sink.py`) that saves every delivered message as JSON in
// MAIL_DIR. The tests read the delivered mail, follow its link in headless
// Chromium to the hosted pages, and check the results over the JSON API.
//
// Environment: TESSERA_URL (the server), MAIL_DIR (the sink's directory),
// CHROMIUM (default /usr/bin/chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, recordRequests, sleep } from '../browser/harness.js';

const BASE = (process.env.TESSERA_URL ?? '').replace(/\/+$/, '');
const MAIL_DIR = process.env.MAIL_DIR ?? '';
const skip = !BASE || !MAIL_DIR ? 'needs TESSERA_URL and MAIL_DIR (run .ci/mail)' : false;

const P1 = 'correct horse battery staple';
const P2 = 'a brand new horse battery';
const P3 = 'yet another staple horse';

let browser;

before(async () => {
  if (!skip) browser = await launch();
});

after(async () => {
  await browser?.close();
});

const unique = (tag) => `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** Calls the JSON API; resolves to `{status, body}`. */
async function api(method, path, body, bearer) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // empty (204) or not JSON
  }
  return { status: res.status, body: json, text };
}

const login = (email, password) => api('POST', '/v1/auth/login', { email, password });

const seen = new Set();

/**
 * Waits for the next delivered message to `to` whose text carries a link to
 * `/account/{kind}`; resolves to the link (as the mail has it).
 */
async function mailLink(to, kind, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  const pattern = new RegExp(`https?://[^\\s"'<>]+/account/${kind}\\?token=[A-Za-z0-9_.~%-]+`);
  for (;;) {
    const files = existsSync(MAIL_DIR) ? readdirSync(MAIL_DIR).filter((f) => f.endsWith('.json')).sort() : [];
    for (const f of files) {
      if (seen.has(f)) continue;
      const mail = JSON.parse(readFileSync(join(MAIL_DIR, f), 'utf8'));
      if (!mail.rcpt_tos.map((r) => r.toLowerCase()).includes(to.toLowerCase())) continue;
      const found = (mail.text ?? '').match(pattern);
      if (!found) continue;
      seen.add(f);
      assert.ok(mail.html, `${f}: the message has an HTML part`);
      assert.ok(mail.html.includes(found[0].replaceAll('&', '&amp;')) || mail.html.includes(found[0]), `${f}: the HTML part carries the same link`);
      return found[0];
    }
    if (Date.now() > deadline) throw new Error(`no /account/${kind} mail to ${to} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * A page that records script errors and CSP violations (Chromium reports a
 * violation as a console error naming the Content Security Policy).
 */
async function openPage({ javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled });
  const requests = recordRequests(context);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  return {
    page,
    problems,
    async close() {
      for (const r of await requests.all()) assert.ok(r.url.startsWith(BASE) || r.url.startsWith('data:'), `request elsewhere: ${r.url}`);
      await context.close();
    },
  };
}

/** The link's token must be gone from the address bar (and the URL must be the bare page). */
function assertNoToken(page, path) {
  const url = new URL(page.url());
  assert.equal(url.pathname, path);
  assert.ok(!url.search.includes('token'), `token still in the address bar: ${page.url()}`);
}

async function resultText(page, want) {
  await page.waitForFunction(
    (w) => {
      const el = document.getElementById('result');
      return el && !el.hidden && el.textContent.includes(w);
    },
    want,
    { timeout: 15_000 },
  );
  return page.textContent('#result');
}

async function register(email, password) {
  const r = await api('POST', '/v1/auth/register', { email, password });
  assert.equal(r.status, 201, r.text);
}

async function me(access) {
  const r = await api('GET', '/v1/me', undefined, access);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('lifecycle: verify, reset in the browser, old password and sessions dead, change email, delete', { skip }, async () => {
  const email = unique('life');
  await register(email, P1);

  // 1. The verification mail; its link, followed in Chromium, verifies at once.
  const verifyLink = await mailLink(email, 'verify');
  assert.ok(verifyLink.startsWith(`${BASE}/account/verify?token=`), verifyLink);
  let first = await login(email, P1);
  assert.equal(first.status, 200, first.text);
  assert.equal((await me(first.body.access_token)).email_verified, false);
  {
    const v = await openPage();
    const res = await v.page.goto(verifyLink);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['referrer-policy'], 'no-referrer');
    assert.match(res.headers()['content-security-policy'], /frame-ancestors 'none'/);
    assert.match(await resultText(v.page, 'confirmed'), /Your email address is confirmed/);
    assertNoToken(v.page, '/account/verify');
    assert.deepEqual(v.problems, [], 'no script error and no CSP violation');
    await v.close();
  }
  // At once, for the session from before (no stale cached account).
  assert.equal((await me(first.body.access_token)).email_verified, true);
  {
    // The same verification link again: spent, and the page says so.
    const v = await openPage();
    await v.page.goto(verifyLink);
    assert.match(await resultText(v.page, 'already been used'), /Ask for a new one/);
    assert.equal(await v.page.isVisible('#account-form'), false);
    assertNoToken(v.page, '/account/verify');
    await v.close();
  }

  // 2. Two sessions before the reset.
  first = await login(email, P1);
  const second = await login(email, P1);
  assert.equal(second.status, 200);

  // 3. Forgot → mail → the reset page in Chromium.
  const forgot = await api('POST', '/v1/auth/password/forgot', { email });
  assert.equal(forgot.status, 202, forgot.text);
  const resetLink = await mailLink(email, 'reset');
  assert.ok(resetLink.startsWith(`${BASE}/account/reset?token=`), resetLink);
  {
    const r = await openPage();
    const res = await r.page.goto(resetLink);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['cache-control'], 'no-store');
    // The script took the token out of the address bar before anything else.
    await r.page.waitForFunction(() => !window.location.search.includes('token'), null, { timeout: 5_000 });
    assertNoToken(r.page, '/account/reset');
    // A password the policy refuses: the server's reason, and the link still works.
    await r.page.fill('#new_password', 'password123');
    await r.page.fill('#new_password_confirm', 'password123');
    await r.page.click('#submit');
    assert.match(await resultText(r.page, 'Not accepted'), /too common/);
    // A differing pair is caught in the page.
    await r.page.fill('#new_password', P2);
    await r.page.fill('#new_password_confirm', `${P2}!`);
    await r.page.click('#submit');
    await resultText(r.page, 'differ');
    await r.page.fill('#new_password_confirm', P2);
    await r.page.click('#submit');
    assert.match(await resultText(r.page, 'has been changed'), /signed out/);
    assert.equal(await r.page.isVisible('#account-form'), false);
    assertNoToken(r.page, '/account/reset');
    assert.deepEqual(r.problems, [], 'no script error and no CSP violation');
    await r.close();
  }

  // 4. The old password fails, the new one works, the old sessions are dead.
  assert.equal((await login(email, P1)).status, 401);
  const fresh = await login(email, P2);
  assert.equal(fresh.status, 200, fresh.text);
  for (const old of [first, second]) {
    const refreshed = await api('POST', '/v1/auth/refresh', { refresh_token: old.body.refresh_token });
    assert.notEqual(refreshed.status, 200, 'an old session still refreshes');
    assert.ok(refreshed.status >= 400 && refreshed.status < 500, refreshed.text);
  }

  // 5. The same link again: spent, said clearly, nothing changes.
  {
    const again = await openPage();
    await again.page.goto(resetLink);
    await again.page.fill('#new_password', P3);
    await again.page.fill('#new_password_confirm', P3);
    await again.page.click('#submit');
    assert.match(await resultText(again.page, 'already been used'), /Ask for a new one/);
    await again.close();
  }
  assert.equal((await login(email, P3)).status, 401);
  assert.equal((await login(email, P2)).status, 200);

  // 6. Change email: confirmed through the link sent to the new address.
  const newEmail = unique('moved');
  const change = await api('POST', '/v1/account/email', { new_email: newEmail, current_password: P2 }, fresh.body.access_token);
  assert.equal(change.status, 202, change.text);
  const confirmLink = await mailLink(newEmail, 'verify');
  assert.equal((await login(newEmail, P2)).status, 401, 'the change waits for the link');
  {
    const c = await openPage();
    await c.page.goto(confirmLink);
    await resultText(c.page, 'confirmed');
    assertNoToken(c.page, '/account/verify');
    assert.deepEqual(c.problems, []);
    await c.close();
  }
  const moved = await login(newEmail, P2);
  assert.equal(moved.status, 200, moved.text);
  assert.equal((await me(moved.body.access_token)).email, newEmail);
  assert.equal((await login(email, P2)).status, 401);

  // 7. Delete the account.
  const del = await api('DELETE', '/v1/account', { current_password: P2 }, moved.body.access_token);
  assert.equal(del.status, 204, del.text);
  assert.equal((await login(newEmail, P2)).status, 401);
  const gone = await api('POST', '/v1/auth/refresh', { refresh_token: moved.body.refresh_token });
  assert.notEqual(gone.status, 200);
});

test('without JavaScript: the reset form posts and the answer is an HTML page', { skip }, async () => {
  const email = unique('nojs-reset');
  await register(email, P1);
  const before = await login(email, P1);
  assert.equal((await api('POST', '/v1/auth/password/forgot', { email })).status, 202);
  const link = await mailLink(email, 'reset');
  const p = await openPage({ javaScriptEnabled: false });
  const res = await p.page.goto(link);
  assert.equal(res.status(), 200);
  const cookie = (await p.page.context().cookies()).find((c) => c.name === 'tessera_csrf');
  assert.ok(cookie, 'the page set its CSRF cookie');
  assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  await p.page.fill('#new_password', P2);
  await p.page.fill('#new_password_confirm', P2);
  const [answer] = await Promise.all([p.page.waitForNavigation(), p.page.click('#submit')]);
  assert.equal(answer.status(), 200, await answer.text());
  assert.equal(answer.request().method(), 'POST');
  assert.match(answer.headers()['content-type'], /^text\/html/);
  assert.match(await p.page.textContent('#result'), /Your password has been changed/);
  assertNoToken(p.page, '/account/reset');
  assert.deepEqual(p.problems, [], 'no CSP violation');
  await p.close();
  assert.equal((await login(email, P1)).status, 401);
  assert.equal((await login(email, P2)).status, 200);
  const old = await api('POST', '/v1/auth/refresh', { refresh_token: before.body.refresh_token });
  assert.notEqual(old.status, 200);

  // The same link again, still without JavaScript: a clear 400 page.
  const q = await openPage({ javaScriptEnabled: false });
  await q.page.goto(link);
  await q.page.fill('#new_password', P3);
  await q.page.fill('#new_password_confirm', P3);
  const [spent] = await Promise.all([q.page.waitForNavigation(), q.page.click('#submit')]);
  assert.equal(spent.status(), 400);
  assert.match(await q.page.textContent('#result'), /already been used/);
  await q.close();
  assert.equal((await login(email, P3)).status, 401);
});

test('without JavaScript: opening the verify link spends nothing; the Confirm button does', { skip }, async () => {
  const email = unique('nojs-verify');
  await register(email, P1);
  const link = await mailLink(email, 'verify');
  const session = await login(email, P1);
  const p = await openPage({ javaScriptEnabled: false });
  const res = await p.page.goto(link);
  assert.equal(res.status(), 200);
  // A mail scanner's GET would stop here: nothing is verified yet.
  assert.equal((await me(session.body.access_token)).email_verified, false);
  const [answer] = await Promise.all([p.page.waitForNavigation(), p.page.click('#submit')]);
  assert.equal(answer.status(), 200);
  assert.match(await p.page.textContent('#result'), /Your email address is confirmed/);
  assertNoToken(p.page, '/account/verify');
  assert.deepEqual(p.problems, []);
  await p.close();
  assert.equal((await me(session.body.access_token)).email_verified, true);
});

test('a cross-site form post to the reset page is refused with a 403 page', { skip }, async () => {
  // A page on another origin (a data: URL) auto-posting to /account/reset:
  // no CSRF cookie comes along (SameSite=Strict) and the field cannot match.
  const p = await openPage({ javaScriptEnabled: false });
  await p.page.goto(`${BASE}/account/reset?token=x`); // the browser now holds a CSRF cookie
  const evil = `<form method="post" action="${BASE}/account/reset"><input name="csrf" value="${'A'.repeat(43)}">` +
    '<input name="token" value="x"><input name="new_password" value="pwned pwned pwned">' +
    '<button id="go">go</button></form>';
  await p.page.goto(`data:text/html,${encodeURIComponent(evil)}`);
  const [answer] = await Promise.all([p.page.waitForNavigation(), p.page.click('#go')]);
  assert.equal(answer.status(), 403);
  assert.match(await p.page.textContent('#result'), /only be sent from this site|security/);
  await p.page.context().close();
});
