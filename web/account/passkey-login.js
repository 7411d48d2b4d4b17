// Passkeys on the hosted login pages (no inline script: the pages load this
// module from /assets/). Where the browser has WebAuthn it shows:
//  - on the sign-in page, "Sign in with a passkey": request options from
//    POST /v1/auth/passkey/options, the browser's passkey prompt, then the
//    ceremony id and the assertion posted in #passkey-form to
//    /oauth2/login/passkey;
//  - on the second-step page, "Use a passkey": options for that login's
//    mfa_token from POST /v1/auth/mfa/passkey/options, the prompt, then the
//    assertion posted as `passkey` in the second-step form.
// Without script none of it shows and the other forms work as before.
import { credentialToJSON, requestOptionsFromJSON } from '/client/passkey.js';

const $ = (id) => document.getElementById(id);
const error = $('passkey-error');

function fail(button, text) {
  error.textContent = text;
  error.hidden = false;
  button.disabled = false;
}

async function assertion(button, url, body) {
  button.disabled = true;
  error.hidden = true;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!res.ok) {
    fail(button, res.status === 400 ? 'No passkey can be used here. Use another way.' : 'Passkeys are not available right now. Use another way.');
    return null;
  }
  const o = await res.json();
  const cred = await navigator.credentials.get({ publicKey: requestOptionsFromJSON(o.publicKey) });
  if (!cred) {
    fail(button, 'No passkey was chosen.');
    return null;
  }
  return { ceremony: o.ceremony, credential: JSON.stringify(credentialToJSON(cred)) };
}

function wire(button, run) {
  button.addEventListener('click', () =>
    run().catch((e) =>
      fail(button, e && e.name === 'NotAllowedError' ? 'The passkey prompt was closed. Try again, or use another way.' : 'That did not work. Try again, or use another way.'),
    ),
  );
}

if (error && window.PublicKeyCredential && navigator.credentials) {
  const signIn = $('passkey-form');
  if (signIn && $('passkey')) {
    signIn.hidden = false;
    wire($('passkey'), async () => {
      const a = await assertion($('passkey'), '/v1/auth/passkey/options', {});
      if (!a) return;
      $('passkey-ceremony').value = a.ceremony;
      $('passkey-credential').value = a.credential;
      HTMLFormElement.prototype.submit.call(signIn);
    });
  }
  const second = $('mfa-form');
  if (second && $('mfa-passkey-box')) {
    $('mfa-passkey-box').hidden = false;
    wire($('mfa-passkey'), async () => {
      const token = second.elements.namedItem('mfa_token').value;
      const a = await assertion($('mfa-passkey'), '/v1/auth/mfa/passkey/options', { mfa_token: token, cookie: true });
      if (!a) return;
      for (const name of ['totp', 'recovery_code']) {
        const field = second.elements.namedItem(name);
        if (field) field.value = '';
      }
      $('mfa-passkey-credential').value = a.credential;
      // Not second.submit(): its button named "submit" shadows the method.
      HTMLFormElement.prototype.submit.call(second);
    });
  }
}
document.documentElement.dataset.passkeyReady = 'true';
