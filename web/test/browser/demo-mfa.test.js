// Two-step verification in the demo, in a real browser against a real
// server: enrol TOTP (the QR code shows; the secret is read off the page),
// confirm with a code computed here by otplib (an independent TOTP), see the
// recovery codes; then log out and in again: the password alone gets no
// tokens, and a code from otplib completes the login with amr pwd+otp+mfa.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticator } from 'otplib';
import { launch, mainServer, sleep } from './harness.js';

let browser;
let server;

before(async () => {
  browser = await launch();
  server = await mainServer();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Waits until the 30-second step after `step` has begun (a code is never accepted twice). */
async function nextStep(step) {
  while (Math.floor(Date.now() / 30_000) <= step) await sleep(250);
  await sleep(300);
}

test('demo: enrol TOTP with the QR code, then sign in with a code from otplib', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1200 } });
  try {
    const p = await context.newPage();
    const errors = [];
    p.on('pageerror', (e) => errors.push(e));
    await p.goto(`${server.url}/demo`);
    await p.waitForSelector('html[data-ready="true"]');
    await p.click('#register');
    await p.waitForSelector('#log li[data-kind="registered"]');
    await p.click('#login');
    await p.waitForSelector('#status[data-state="active"]');

    await p.click('#mfa-setup');
    await p.waitForSelector('#mfa-enrol:not([hidden])');
    await p.waitForSelector('#mfa-qr:not([hidden])');
    const qrLoaded = await p.$eval('#mfa-qr', (img) => img.complete && img.naturalWidth > 0);
    assert.ok(qrLoaded, 'the QR code renders');
    const secret = (await p.textContent('#mfa-secret')).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const enrolledAt = Math.floor(Date.now() / 30_000);
    await p.fill('#mfa-confirm-code', authenticator.generate(secret));
    await p.click('#mfa-confirm');
    await p.waitForSelector('#mfa-recovery-box:not([hidden])');
    assert.equal(await p.locator('#mfa-recovery li').count(), 10);
    await p.waitForSelector('#log li[data-kind="mfa-enrolled"]');

    await p.click('#logout');
    await p.waitForSelector('#status:not([data-state="active"])');
    await p.click('#login');
    await p.waitForSelector('#mfa-login:not([hidden])');
    await p.waitForSelector('#log li[data-kind="mfa-required"]');
    assert.notEqual(await p.getAttribute('#status', 'data-state'), 'active', 'no tokens on the password alone');

    await nextStep(enrolledAt);
    await p.fill('#mfa-code', authenticator.generate(secret));
    await p.click('#mfa-verify');
    await p.waitForSelector('#status[data-state="active"]');
    await p.waitForSelector('#mfa-login[hidden]', { state: 'attached' });
    // The access token (linked to the debugger) says how the user signed in.
    const href = await p.getAttribute('#inspect', 'href');
    const token = href.slice(href.indexOf('#') + 1);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    await p.click('#me');
    await p.waitForFunction(() => document.querySelector('#me-result')?.textContent.includes('"email"'));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
