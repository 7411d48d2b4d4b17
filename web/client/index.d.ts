// Type definitions for @tessera/client (hand-written; the module is plain JavaScript).

/** Where the refresh token lives in bearer mode. Methods may be sync or async. */
export interface RefreshTokenStorage {
  get(): string | null | undefined | Promise<string | null | undefined>;
  set(token: string): void | Promise<void>;
  clear(): void | Promise<void>;
  /** True when every tab of the app reads the same storage (turns on cross-tab coordination). */
  shared?: boolean;
  /** Distinguishes the cross-tab channel of different storages. */
  key?: string;
}

/** Why a session ended; passed to `onSessionEnded`. */
export interface SessionEndedInfo {
  /** `refresh_rejected` (the server refused the refresh: revoked, reused, expired), `logout`, `no_refresh_token`, or `peer`. */
  reason: 'refresh_rejected' | 'logout' | 'no_refresh_token' | 'peer' | string;
  /** HTTP status of the refused refresh (0 otherwise). */
  status?: number;
  /** Tessera's `error` code, e.g. `invalid_grant`. */
  error?: string;
  /** Tessera's `error_description`. */
  description?: string;
}

/** A new access token, from a login, a refresh, or another tab. */
export interface TokensEvent {
  accessToken: string;
  /** Local expiry time in milliseconds of the client's `now()` clock. */
  expiresAt: number;
  /** The token's lifetime in seconds (`expires_in`). */
  expiresIn: number;
  source: 'login' | 'refresh' | 'peer';
}

/** A Tessera token answer. */
export interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  /** Absent in cookie mode. */
  refresh_token?: string;
  refresh_token_expires_in?: number;
}

/** The subset of the Web Locks API the client uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
  request<T>(
    name: string,
    options: { ifAvailable?: boolean },
    callback: (lock: unknown | null) => Promise<T> | T,
  ): Promise<T>;
}

export interface TesseraClientOptions {
  /** Tessera's origin, e.g. `https://auth.example`; empty (the default) means this page's origin. */
  baseUrl?: string;
  /** `bearer` (default): the refresh token is held by the client, in `storage`. `cookie`: it lives in an HttpOnly cookie. */
  mode?: 'bearer' | 'cookie';
  /** Bearer mode: where the refresh token is kept. Default: memory only (`memoryStorage()`). */
  storage?: RefreshTokenStorage;
  /** Refresh before a request when the token has at most this many seconds left (default 30, capped at half its lifetime). */
  refreshMargin?: number;
  /** Refresh ahead of expiry (default true). With false, only a 401 triggers a refresh. */
  proactive?: boolean;
  /** Called once when a live session ends. The client never loops after it. */
  onSessionEnded?: (info: SessionEndedInfo) => void;
  /** Called on every new access token. */
  onTokens?: (event: TokensEvent) => void;
  /** Coordinate refreshes with the app's other tabs. Default: on in cookie mode or with shared storage. */
  crossTab?: boolean;
  /** Name of the Web Lock and BroadcastChannel (defaults to one derived from baseUrl, mode and storage key). */
  channelName?: string;
  /** Endpoint paths (defaults: `/v1/auth/register`, `/login`, `/refresh`, `/logout`). */
  paths?: Partial<Record<'register' | 'login' | 'refresh' | 'logout', string>>;
  /** The fetch to use (default: global fetch). */
  fetch?: typeof fetch;
  /** The local clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Web Locks implementation (default `navigator.locks`; null disables it and falls back to a BroadcastChannel election). */
  locks?: LockManagerLike | null;
  /** BroadcastChannel constructor (default the global one; null disables cross-tab messages). */
  BroadcastChannel?: { new (name: string): BroadcastChannel } | null;
  /** How long (ms) to wait for another tab's refresh before refreshing here (default 10000). */
  peerTimeout?: number;
  /** Fallback election window in ms (default 50). */
  electionWindow?: number;
  /**
   * DPoP (RFC 9449): `true` binds the session's tokens to a non-extractable P-256
   * key kept in IndexedDB (shared by the app's tabs, kept across reloads). Every
   * token request and every `fetch` then carries a proof. An object picks the key store.
   */
  dpop?: boolean | { keyStore?: DpopKeyStore };
  /** The hosted sign-in (`loginWithRedirect`): this app's client id at Tessera (a public client). Bearer mode. */
  clientId?: string;
  /** The redirect URI registered for the client (default: this page's URL without query). */
  redirectUri?: string;
  /** The issuer `iss` must name (default: `baseUrl`, else this page's origin). */
  issuer?: string;
  /** OAuth paths (default `/oauth2/authorize`, `/oauth2/token`, `/oauth2/revoke`). */
  oauthPaths?: { authorize?: string; token?: string; revoke?: string };
  /** How to navigate to the authorization endpoint (default `location.assign`). */
  navigate?: (url: string) => void | Promise<void>;
  /** Where the verifier, state and nonce wait for the callback (default `sessionStorage`). */
  redirectStorage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
}

/** Options of `loginWithRedirect`. */
export interface RedirectLoginOptions {
  /** Space-separated scopes (default `openid`; add `offline_access` for a refresh token). */
  scope?: string;
  /** `none`, `login` or `consent`. */
  prompt?: string;
  /** An email to prefill on the login page. */
  loginHint?: string;
  /** Seconds since the last authentication beyond which Tessera asks again. */
  maxAge?: number;
}

/** What `handleRedirectCallback` resolves to. */
export interface RedirectResult {
  /** The ID token (when `openid` was asked). */
  idToken: string | null;
  /** Its claims (nonce, aud and iss checked). */
  claims: Record<string, unknown> | null;
  /** The granted scope. */
  scope: string;
}

/** Where the DPoP key pair lives (default: IndexedDB `tessera-dpop`). */
export interface DpopKeyStore {
  /** Returns the pair stored under `name`, storing `candidate` first if there is none (atomically across tabs). */
  loadOrStore(name: string, candidate: CryptoKeyPair): Promise<CryptoKeyPair>;
  clear(name: string): Promise<void>;
}

/** Signs DPoP proofs with the client's key. */
export interface DpopSigner {
  /** The public key (no private members). */
  readonly jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  /** Its RFC 7638 thumbprint, as Tessera puts it in `cnf.jkt`. */
  readonly jkt: string;
  /** A proof for `method url`, bound to `accessToken` when given. */
  proof(method: string, url: string, opts?: { base?: string; accessToken?: string | null; nowMs?: number }): Promise<string>;
}

/** The header Tessera requires on cookie-carried requests (`X-Tessera-CSRF`). */
export declare const CSRF_HEADER: string;

/** An error answer from Tessera, or a failure to reach it. */
export declare class TesseraError extends Error {
  constructor(message: string, info?: { status?: number; code?: string; description?: string; cause?: unknown });
  /** HTTP status (0 when the server could not be reached). */
  readonly status: number;
  /** Tessera's `error` code. */
  readonly code: string;
  /** Tessera's `error_description`. */
  readonly description: string;
}

/** Refresh-token storage in memory (the default). */
export declare function memoryStorage(): RefreshTokenStorage;

/** Refresh-token storage in `localStorage` (shared by tabs) or `sessionStorage`. */
export declare function webStorage(area: Storage, key?: string): RefreshTokenStorage;

/** A Tessera session in this tab, shared with the app's other tabs. */
export declare class TesseraClient {
  constructor(options?: TesseraClientOptions);
  readonly mode: 'bearer' | 'cookie';
  readonly baseUrl: string;
  /** The current access token, or null. */
  readonly accessToken: string | null;
  /** Local expiry time (ms of `now()`), or null. */
  readonly expiresAt: number | null;
  /** Seconds left by the local estimate (negative once expired), or null. */
  readonly expiresIn: number | null;
  /** True while a session is live. */
  readonly active: boolean;
  /** True once a live session has ended. */
  readonly sessionEnded: boolean;
  /** Refresh ahead of expiry; may be changed at any time. */
  proactive: boolean;
  /** Registers an account; resolves to `{id, email, roles}`. */
  register(email: string, password: string): Promise<{ id: string; email: string; roles: string[] }>;
  /**
   * Logs in (cookie mode asks for the HttpOnly refresh cookie). With a second
   * factor enrolled (or required), rejects with `MfaRequiredError`: no
   * tokens; continue with `completeMfa`.
   */
  login(email: string, password: string): Promise<TokenAnswer>;
  /** The second step of a login that rejected with `MfaRequiredError`. */
  completeMfa(mfaToken: string, factor: MfaFactor): Promise<TokenAnswer>;
  /** Installs a token answer the app obtained itself. */
  setSession(answer: TokenAnswer, sentAt?: number): Promise<void>;
  /** Signs in through Tessera's hosted page (authorization code + PKCE S256): navigates away. */
  loginWithRedirect(options?: RedirectLoginOptions): Promise<string>;
  /** On the redirect URI: checks state (and iss), exchanges the code, checks the ID token's nonce, starts the session. */
  handleRedirectCallback(href?: string): Promise<RedirectResult>;
  /** Picks up the browser's existing session (refresh cookie, or a stored refresh token). */
  resume(): Promise<boolean>;
  /** Refreshes now, single-flight and across tabs. True when a fresh token is held, false when the session ended. */
  refresh(): Promise<boolean>;
  /** True when the client was made with `dpop`. */
  readonly dpop: boolean;
  /** The DPoP signer (its key loaded or made on first use), or null without `dpop`. */
  dpopSigner(): Promise<DpopSigner | null>;
  /** `fetch` with the access token; refreshes near expiry and once after a 401, retrying once. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Logs out on the server and here. */
  logout(): Promise<void>;
  /** Stops listening to other tabs. */
  close(): void;
}

// Passkeys (WebAuthn): ./passkey.js, re-exported by the main module.

/** Options shared by the passkey helpers. */
export interface PasskeyRequestOptions {
  /** Tessera's URL (default: this origin). */
  baseUrl?: string;
  /** Cookie mode: the refresh token goes into Tessera's HttpOnly cookie. */
  cookie?: boolean;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** The credentials container (default: `navigator.credentials`). */
  credentials?: CredentialsContainer;
}

/** A registered passkey, as `GET /v1/account/passkeys` lists it. */
export interface PasskeyView {
  id: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  /** Backup eligible: may be synced between devices. */
  synced: boolean;
}

/** JSON of a `PublicKeyCredential`, binary members in base64url. */
export interface PublicKeyCredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: Record<string, string | string[]>;
  extensions: Record<string, unknown>;
}

/** base64url (padded or not) to an ArrayBuffer. */
export function b64urlToBuffer(text: string): ArrayBuffer;
/** An ArrayBuffer or a view of one to unpadded base64url. */
export function bufferToB64url(buf: ArrayBuffer | ArrayBufferView): string;
/** Tessera's creation options (`publicKey`, JSON) for `navigator.credentials.create`. */
export function creationOptionsFromJSON(publicKey: Record<string, unknown>): PublicKeyCredentialCreationOptions;
/** Tessera's request options (`publicKey`, JSON) for `navigator.credentials.get`. */
export function requestOptionsFromJSON(publicKey: Record<string, unknown>): PublicKeyCredentialRequestOptions;
/** A credential from `create` or `get` as the JSON Tessera takes. */
export function credentialToJSON(cred: PublicKeyCredential): PublicKeyCredentialJSON;
/** Adds a passkey to the signed-in user's account (options, the browser's prompt, registration). */
export function registerPasskey(options: PasskeyRequestOptions & { accessToken: string; name?: string }): Promise<PasskeyView>;
/** Signs in with a discoverable passkey and no password: the token answer of `POST /v1/auth/passkey`. */
export function signInWithPasskey(
  options?: PasskeyRequestOptions & { mediation?: CredentialMediationRequirement; signal?: AbortSignal; headers?: Record<string, string> },
): Promise<TokenAnswer>;
/** The second step of a login that answered `mfa_required`, with a passkey: the token answer of `POST /v1/auth/mfa`. */
export function passkeyAsSecondFactor(
  options: PasskeyRequestOptions & { mfaToken: string; headers?: Record<string, string> },
): Promise<TokenAnswer>;
/** A second factor for `completeMfa`. */
export type MfaFactor = { totp: string } | { recoveryCode: string };

/** A login that needs a second factor (`mfa_required`) or its enrolment (`mfa_enrollment_required`). */
export declare class MfaRequiredError extends TesseraError {
  readonly name: 'MfaRequiredError';
  /** Continues this login (single use, a few minutes). */
  readonly mfaToken: string;
  /** What the second step may use: `totp`, `recovery_code`. */
  readonly methods: string[];
  /** True for `mfa_enrollment_required`. */
  readonly enrollment: boolean;
  /** Seconds the token works. */
  readonly expiresIn: number;
}

/** A new TOTP secret, shown once. */
export interface TotpEnrollment {
  secret: string;
  otpauth_uri: string;
  /** The URI as a QR code (an SVG document). */
  qr_svg: string;
}

/** Starts TOTP enrolment (recent sign-in, or the current password). */
export declare function beginTotp(client: TesseraClient, currentPassword?: string): Promise<TotpEnrollment>;
/** Confirms TOTP enrolment with a code; resolves to ten recovery codes (shown once). */
export declare function confirmTotp(client: TesseraClient, code: string): Promise<{ recovery_codes: string[] }>;
/** The caller's second factors. */
export declare function mfaState(client: TesseraClient): Promise<{ totp: boolean; recovery_codes_left: number; methods: string[] }>;
