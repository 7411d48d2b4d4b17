// The hosted login page's "Sign in with a passkey" (no inline script: the
// page loads this module from /assets/). Where the browser has WebAuthn, it
// shows the passkey form; a click asks Tessera for request options, runs
// the browser's passkey prompt, and posts the ceremony id and the assertion
// in that form (with the page's CSRF value and the pending request) to
// /oauth2/login/passkey. Without script the form stays hidden and the
// password form works as before.
import { credentialToJSON, requestOptionsFromJSON } from '/client/passkey.js';

const form = document.getElementById('passkey-form');
const button = document.getElementById('passkey');
const error = document.getElementById('passkey-error');

function fail(text) {
  error.textContent = text;
  error.hidden = false;
  button.disabled = false;
}

async function signIn() {
  button.disabled = true;
  error.hidden = true;
  try {
    const res = await fetch('/v1/auth/passkey/options', { method: 'POST', credentials: 'same-origin' });
    if (!res.ok) return fail('Passkeys are not available right now. Use your password.');
    const o = await res.json();
    const cred = await navigator.credentials.get({ publicKey: requestOptionsFromJSON(o.publicKey) });
    if (!cred) return fail('No passkey was chosen.');
    document.getElementById('passkey-ceremony').value = o.ceremony;
    document.getElementById('passkey-credential').value = JSON.stringify(credentialToJSON(cred));
    form.submit();
  } catch (e) {
    fail(e && e.name === 'NotAllowedError' ? 'The passkey prompt was closed. Try again, or use your password.' : 'That did not work. Try again, or use your password.');
  }
}

if (form && button && error && window.PublicKeyCredential && navigator.credentials) {
  form.hidden = false;
  button.addEventListener('click', signIn);
}
document.documentElement.dataset.passkeyReady = 'true';
