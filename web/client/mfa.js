// Multi-factor authentication for @tessera/client: the typed `mfa_required`
// answer of a login, the second step (`POST /v1/auth/mfa`), and the account
// calls that enrol TOTP. Imported by tessera-client.js.
import { TesseraError } from './errors.js';

export const MFA_PATHS = Object.freeze({
  complete: '/v1/auth/mfa',
  state: '/v1/account/mfa',
  totp: '/v1/account/mfa/totp',
  confirm: '/v1/account/mfa/totp/confirm',
  recoveryCodes: '/v1/account/mfa/recovery-codes',
});

/**
 * A login whose password was right but that needs a second factor
 * (`mfa_required`), or, under `require_mfa`, its enrolment
 * (`mfa_enrollment_required`). No tokens were issued; pass `mfaToken` to
 * `client.completeMfa`.
 */
export class MfaRequiredError extends TesseraError {
  constructor(status, body) {
    super(body.error_description || body.error, { status, code: body.error, description: body.error_description });
    this.name = 'MfaRequiredError';
    /** The token that continues this login (single use, a few minutes). */
    this.mfaToken = body.mfa_token;
    /** What the second step may use: `totp`, `recovery_code`. */
    this.methods = Array.isArray(body.methods) ? body.methods : [];
    /** True for `mfa_enrollment_required`. */
    this.enrollment = body.error === 'mfa_enrollment_required';
    /** Seconds the token works. */
    this.expiresIn = body.expires_in;
  }
}

/** The `MfaRequiredError` of a 403 login answer, or `null`. */
export async function mfaRequiredOf(res) {
  if (res.status !== 403) return null;
  let body = null;
  try {
    body = await res.clone().json();
  } catch {
    return null;
  }
  const kinds = ['mfa_required', 'mfa_enrollment_required'];
  if (!body || !kinds.includes(body.error) || typeof body.mfa_token !== 'string') return null;
  return new MfaRequiredError(res.status, body);
}

async function failure(res, what) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  return new TesseraError(body.error_description || body.error || `${what}: HTTP ${res.status}`, {
    status: res.status,
    code: body.error ?? '',
    description: body.error_description ?? '',
  });
}

/**
 * The second step: `factor` is `{totp}` or `{recoveryCode}`. In the client's
 * mode (cookie or bearer) and with its DPoP key, as the login was; starts the
 * session and resolves to the token answer.
 */
export async function completeMfa(client, mfaToken, factor) {
  const body = { mfa_token: mfaToken };
  if (factor?.totp !== undefined) body.totp = String(factor.totp);
  if (factor?.recoveryCode !== undefined) body.recovery_code = String(factor.recoveryCode);
  if (client.mode === 'cookie') body.cookie = true;
  const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  if (client.mode === 'cookie') init.credentials = 'include';
  const sentAt = client.now();
  const res = await client._tokenFetch(client._url(MFA_PATHS.complete), init);
  if (!res.ok) throw await failure(res, 'mfa');
  const answer = await res.json();
  await client.setSession(answer, sentAt);
  return answer;
}

async function accountCall(client, path, body, what) {
  const res = await client.fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!res.ok) throw await failure(res, what);
  return res.json();
}

/** Starts TOTP enrolment: `{secret, otpauth_uri, qr_svg}` (recent sign-in, or `currentPassword`). */
export function beginTotp(client, currentPassword) {
  const body = currentPassword === undefined ? {} : { current_password: currentPassword };
  return accountCall(client, MFA_PATHS.totp, body, 'totp');
}

/** Confirms TOTP enrolment with a code: `{recovery_codes}` (shown once). */
export function confirmTotp(client, code) {
  return accountCall(client, MFA_PATHS.confirm, { code: String(code) }, 'totp confirm');
}

/** The caller's factors: `{totp, recovery_codes_left, methods}`. */
export async function mfaState(client) {
  const res = await client.fetch(MFA_PATHS.state);
  if (!res.ok) throw await failure(res, 'mfa state');
  return res.json();
}
