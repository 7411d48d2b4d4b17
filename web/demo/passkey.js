// The demo's passkey panel (imported by demo.js): add a passkey to the
// signed-in account, then sign in with it and no password. Uses the
// helpers of @tessera/client (/client/passkey.js); every request goes
// through the demo's logging fetch. Shown only where the browser has
// WebAuthn; the server must have passkeys on (a domain issuer, such as
// localhost on port 8080: see the README).
import { registerPasskey, signInWithPasskey } from '/client/passkey.js';

/**
 * @param {object} demo
 * @param {() => import('/client/tessera-client.js').TesseraClient} demo.client the current client
 * @param {() => object} demo.fresh a new client for a new sign-in
 * @param {typeof fetch} demo.fetch the logging fetch
 * @param {(kind: string, text: string, data?: object) => void} demo.log
 * @param {(text: string) => void} demo.signedIn
 * @param {(fn: () => Promise<void>) => Promise<void>} demo.guarded
 * @param {() => string} demo.mode `bearer` or `cookie`
 */
export function initPasskeys(demo) {
  const box = document.getElementById('passkeys');
  if (!box || !window.PublicKeyCredential) return;
  box.hidden = false;
  document.getElementById('passkey-add').addEventListener('click', () =>
    demo.guarded(async () => {
      const token = demo.client()?.accessToken;
      if (!token) throw new Error('log in first, then add a passkey');
      const p = await registerPasskey({ accessToken: token, name: 'Demo passkey', fetch: demo.fetch });
      demo.log('good', `Added passkey "${p.name}": it can now sign in to this account without a password.`, { kind: 'passkey-added' });
    }),
  );
  document.getElementById('passkey-signin').addEventListener('click', () =>
    demo.guarded(async () => {
      const cookie = demo.mode() === 'cookie';
      const client = demo.fresh();
      const sentAt = Date.now();
      const answer = await signInWithPasskey({ cookie, fetch: demo.fetch });
      await client.setSession(answer, sentAt);
      const amr = JSON.parse(atob(answer.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).amr ?? [];
      demo.signedIn(`Signed in with a passkey (${demo.mode()} mode).`);
      demo.log('good', `Signed in with a passkey, no password: amr ${JSON.stringify(amr)}.`, { kind: 'passkey-login' });
    }),
  );
}
