// The live demo's two-step verification: enrol TOTP (QR code, confirm with a
// code, recovery codes shown once), and the second step of a login that
// answers `mfa_required`. Imported by demo.js, which hands over its client,
// log and status functions.
import { MfaRequiredError, beginTotp, confirmTotp } from '/client/tessera-client.js';

const $ = (id) => document.getElementById(id);
let ctx = null;
let pending = null; // the MfaRequiredError of the login awaiting its second factor

/** Wires the MFA panel; `ctx` = {client(), log(kind, text, data), signedIn(text), guarded(fn)}. */
export function initMfa(context) {
  ctx = context;
  $('mfa-setup').addEventListener('click', () => ctx.guarded(setup));
  $('mfa-confirm-form').addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.guarded(confirm);
  });
  $('mfa-login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.guarded(secondStep);
  });
}

/** True if `e` was a login asking for a second factor: the form is shown. */
export function onLoginError(e) {
  if (!(e instanceof MfaRequiredError)) return false;
  pending = e;
  if (e.enrollment) {
    ctx.log('bad', 'This server requires a second factor: enrol one first (the demo covers accounts that have one).', { kind: 'mfa-enrol-required' });
    return true;
  }
  $('mfa-login').hidden = false;
  $('mfa-code').value = '';
  $('mfa-code').focus();
  ctx.log('note', `Password accepted; no tokens yet: the server asks for a second factor (${e.methods.join(' or ')}).`, { kind: 'mfa-required' });
  return true;
}

async function setup() {
  const e = await beginTotp(ctx.client());
  const img = $('mfa-qr');
  img.src = `data:image/svg+xml;base64,${btoa(e.qr_svg)}`;
  img.hidden = false;
  $('mfa-secret').textContent = e.secret;
  $('mfa-enrol').hidden = false;
  $('mfa-confirm-code').value = '';
  ctx.log('note', 'Scan the QR code (or type the secret) into an authenticator app, then confirm with a code.', { kind: 'mfa-setup' });
}

async function confirm() {
  const { recovery_codes: codes } = await confirmTotp(ctx.client(), $('mfa-confirm-code').value.trim());
  const list = $('mfa-recovery');
  list.replaceChildren(...codes.map((c) => Object.assign(document.createElement('li'), { textContent: c })));
  $('mfa-recovery-box').hidden = false;
  $('mfa-enrol').hidden = true;
  ctx.log('good', 'TOTP enrolled. Keep the recovery codes: they are shown once. The next login asks for a code.', { kind: 'mfa-enrolled' });
}

async function secondStep() {
  if (!pending) return;
  const code = $('mfa-code').value.trim();
  const factor = /^\d{6}$/.test(code.replace(/\s/g, '')) ? { totp: code } : { recoveryCode: code };
  await ctx.client().completeMfa(pending.mfaToken, factor);
  pending = null;
  $('mfa-login').hidden = true;
  await ctx.signedIn('with a second factor');
}
