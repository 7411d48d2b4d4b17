// Compiled (never run) by types.test.js: the hand-written index.d.ts must
// describe the module as an application uses it.
import {
  TesseraClient,
  TesseraError,
  memoryStorage,
  webStorage,
  CSRF_HEADER,
  type SessionEndedInfo,
  type TokensEvent,
  type TokenAnswer,
  registerPasskey,
  signInWithPasskey,
  passkeyAsSecondFactor,
  b64urlToBuffer,
  bufferToB64url,
  type PasskeyView,
} from '@tessera/client';

const ended: SessionEndedInfo[] = [];
const client = new TesseraClient({
  mode: 'cookie',
  baseUrl: 'https://auth.example',
  refreshMargin: 10,
  proactive: false,
  onSessionEnded: (info) => ended.push(info),
  onTokens: (t: TokensEvent) => console.log(t.accessToken.length, t.expiresAt, t.expiresIn, t.source),
  paths: { refresh: '/v1/auth/refresh' },
});

const bearer = new TesseraClient({ storage: webStorage(localStorage), crossTab: true, locks: null });
const memory = new TesseraClient({ storage: memoryStorage(), fetch: globalThis.fetch, now: () => Date.now() });
const bound = new TesseraClient({ dpop: true });
async function proofs(): Promise<string | null> {
  const signer = await bound.dpopSigner();
  const jkt: string | undefined = signer?.jkt;
  return signer ? signer.proof('GET', `https://api.example/x#${jkt}`, { accessToken: bound.accessToken }) : null;
}
void proofs;

async function flow(): Promise<void> {
  const answer: TokenAnswer = await client.login('ada@example.com', 'pw');
  const seconds: number = answer.expires_in;
  const res: Response = await client.fetch('/v1/me', { headers: { Accept: 'application/json' } });
  const fresh: boolean = await client.refresh();
  const resumed: boolean = await bearer.resume();
  const token: string | null = memory.accessToken;
  const left: number | null = client.expiresIn;
  client.proactive = true;
  await client.logout();
  client.close();
  void [seconds, res, fresh, resumed, token, left, CSRF_HEADER, ended];
}

function handle(e: unknown): string {
  return e instanceof TesseraError ? `${e.status} ${e.code} ${e.description}` : String(e);
}

// @ts-expect-error: only "bearer" and "cookie" exist
new TesseraClient({ mode: 'session' });
// @ts-expect-error: accessToken is read-only
client.accessToken = 'x';

void flow;
void handle;

// Passkeys.
async function passkeys(accessToken: string, mfaToken: string): Promise<void> {
  const added: PasskeyView = await registerPasskey({ accessToken, name: 'Laptop' });
  const when: number | null = added.last_used_at;
  const signedIn: TokenAnswer = await signInWithPasskey({ cookie: true });
  const second: TokenAnswer = await passkeyAsSecondFactor({ mfaToken });
  const bytes: ArrayBuffer = b64urlToBuffer(bufferToB64url(new Uint8Array([1, 2])));
  void [when, signedIn, second, bytes];
}
// @ts-expect-error: registerPasskey needs the access token
void registerPasskey({});
void passkeys;
