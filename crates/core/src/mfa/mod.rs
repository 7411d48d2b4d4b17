//! Multi-factor authentication (issue 17): TOTP (RFC 6238, see [`totp`]),
//! single-use recovery codes, and the second step of a login.
//!
//! - **Enrolment** needs a recent authentication (an access token whose
//!   `auth_time` is within `mfa.recent_auth`, or `current_password`):
//!   [`Mfa::begin_totp`] keeps a pending secret (sealed with the server
//!   secret, as signing keys are), [`Mfa::confirm_totp`] makes it count once
//!   a code from it is right, and answers ten recovery codes, shown once and
//!   stored only as SHA-256 hashes.
//! - **Login**: a right password for an account with a factor is answered
//!   with [`Error::MfaRequired`] (no tokens) carrying an `mfa_token`: five
//!   minutes, single use, stored hashed, bound to that login (user, OAuth
//!   client, DPoP key, cookie mode). [`Mfa::complete`] trades it and a code
//!   for the token pair; [`Mfa::pending`] and [`Mfa::finish`] are the same
//!   in two steps, for factors checked elsewhere (passkeys).
//! - **Required MFA** (`mfa.required`, `mfa.required_roles`): an account
//!   without a factor gets [`Error::MfaRequired`] with `enrollment` set; its
//!   token enrols TOTP ([`Mfa::begin_totp_with_token`],
//!   [`Mfa::confirm_totp_with_token`]) and then gets the pair.
//! - A TOTP code is accepted one step either side of now, and never twice
//!   (the factor's counter keeps the last step used). Wrong codes count on
//!   the login throttle (key `mfa:<user id>`, and the IP), like passwords.

mod login;
pub mod totp;

pub(crate) use login::gate;
pub use login::{MfaChallenge, MfaProof, PendingMfa};

use crate::claims::Principal;
use crate::config::secs;
use crate::ctx::{storable, Ctx};
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::lifecycle::{Lifecycle, Links};
use crate::mail::MailKind;
use crate::sessions::Sessions;
use crate::throttle::Limiter;
use std::sync::Arc;
use tessera_jose::crypto;
use tessera_store::{MfaFactor, User};
use zeroize::Zeroizing;

/// The `kind` (and id) of a TOTP factor.
pub(crate) const TOTP: &str = "totp";
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

/// A TOTP secret to show once, for an authenticator app. `Debug` hides it.
#[derive(Clone)]
pub struct TotpEnrollment {
    /// The secret, base32 (for typing in).
    pub secret: Zeroizing<String>,
    /// The `otpauth://` URI (what the QR code holds).
    pub otpauth_uri: Zeroizing<String>,
    /// The QR code of the URI, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

/// A user's second factors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MfaState {
    /// A confirmed TOTP factor.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: usize,
    /// Registered passkeys (each one is a second factor too).
    pub passkeys: usize,
}

impl MfaState {
    /// True if any second factor is enrolled (recovery codes alone are not
    /// one): TOTP, or a passkey.
    pub fn enrolled(&self) -> bool {
        self.totp || self.passkeys > 0
    }

    /// The factors enrolled (`totp`, `passkey`), as the admin user view
    /// lists them.
    pub fn factors(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.totp {
            f.push("totp".to_owned());
        }
        if self.passkeys > 0 {
            f.push("passkey".to_owned());
        }
        f
    }

    /// The methods a login's second step may use (`totp`, `passkey`,
    /// `recovery_code`), as `mfa_required` lists them.
    pub fn methods(&self) -> Vec<String> {
        let mut m = Vec::new();
        if self.totp {
            m.push("totp".to_owned());
        }
        if self.passkeys > 0 {
            m.push("passkey".to_owned());
        }
        if self.recovery_codes_left > 0 {
            m.push("recovery_code".to_owned());
        }
        m
    }
}

/// Recovery codes shown once. `Debug` hides them.
#[derive(Clone)]
pub struct RecoveryCodes(pub Vec<Zeroizing<String>>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

/// The state of a user's factors, read from the store.
pub(crate) async fn state_of(ctx: &Ctx, user_id: &str) -> Result<MfaState> {
    let factors = ctx.store.factors(user_id).await?;
    let left = ctx.store.unused_recovery_codes(user_id).await?.len();
    Ok(MfaState {
        totp: factors
            .iter()
            .any(|f| f.kind == TOTP && f.confirmed_at.is_some()),
        recovery_codes_left: left,
        passkeys: ctx.store.passkeys(user_id).await?.len(),
    })
}

/// The SHA-256 of a recovery code as typed: case, spaces and dashes do not
/// matter.
pub(crate) fn recovery_hash(code: &str) -> [u8; 32] {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    crypto::sha256(norm.as_bytes())
}

/// Ten new recovery codes (`xxxxx-xxxxx`, 50 random bits each) and their hashes.
fn new_recovery_codes() -> Result<(RecoveryCodes, Vec<Vec<u8>>)> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw = crypto::random_bytes(7).map_err(Error::internal)?;
        let text = totp::base32(&raw).to_ascii_lowercase();
        let code = Zeroizing::new(format!("{}-{}", &text[..5], &text[5..10]));
        hashes.push(recovery_hash(&code).to_vec());
        codes.push(code);
    }
    Ok((RecoveryCodes(codes), hashes))
}

/// The associated data a user's TOTP secret is sealed with.
fn seal_aad(user_id: &str) -> Vec<u8> {
    format!("tessera/v1/totp/{user_id}").into_bytes()
}

/// Second factors: enrolment, removal, recovery codes, and the second step
/// of a login.
#[derive(Clone)]
pub struct Mfa {
    ctx: Arc<Ctx>,
    limiter: Arc<Limiter>,
    sessions: Sessions,
    lifecycle: Lifecycle,
    links: Arc<Links>,
}

impl std::fmt::Debug for Mfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa").finish_non_exhaustive()
    }
}

impl Mfa {
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        limiter: Arc<Limiter>,
        sessions: Sessions,
        lifecycle: Lifecycle,
        links: Arc<Links>,
    ) -> Self {
        Mfa {
            ctx,
            limiter,
            sessions,
            lifecycle,
            links,
        }
    }

    /// A user's factors.
    pub async fn state(&self, user_id: &str) -> Result<MfaState> {
        if !storable(user_id) {
            return Ok(MfaState::default());
        }
        state_of(&self.ctx, user_id).await
    }

    /// The caller's account, after the recent-authentication rule: the
    /// access token's `auth_time` within `mfa.recent_auth`, or the right
    /// `current_password` (throttled like a login).
    async fn recent_caller(
        &self,
        who: &Principal,
        current_password: Option<&str>,
        info: &ClientInfo,
    ) -> Result<User> {
        let user = self.lifecycle.caller(who).await?;
        if let Some(pw) = current_password {
            self.lifecycle.check_current(&user, pw, info).await?;
            return Ok(user);
        }
        let window = secs(self.ctx.cfg.mfa.recent_auth);
        let recent = who
            .claims
            .auth_time
            .is_some_and(|t| self.ctx.now().saturating_sub(t) <= window);
        if recent {
            Ok(user)
        } else {
            Err(Error::ReauthenticationRequired)
        }
    }

    /// Starts TOTP enrolment for the caller (recent authentication): a new
    /// pending secret, replacing any earlier pending one. Nothing counts
    /// until [`Mfa::confirm_totp`].
    pub async fn begin_totp(
        &self,
        who: &Principal,
        current_password: Option<&str>,
        info: &ClientInfo,
    ) -> Result<TotpEnrollment> {
        let user = self.recent_caller(who, current_password, info).await?;
        self.begin_totp_for(&user).await
    }

    pub(crate) async fn begin_totp_for(&self, user: &User) -> Result<TotpEnrollment> {
        let c = &self.ctx;
        let secret = totp::new_secret()?;
        let sealed = crypto::seal(c.secret.seal_key(), &seal_aad(&user.id), &secret)
            .map_err(|e| Error::internal_in("sealing a TOTP secret", e))?;
        let factor = MfaFactor {
            user_id: user.id.clone(),
            kind: TOTP.into(),
            id: TOTP.into(),
            secret: sealed,
            data: "{}".into(),
            counter: 0,
            created_at: c.now(),
            confirmed_at: None,
        };
        if !c.store.put_factor(&factor).await? {
            return Err(Error::InvalidInput {
                field: "totp",
                message: "TOTP is already enrolled; remove it first".into(),
            });
        }
        let b32 = Zeroizing::new(totp::base32(&secret));
        let issuer = self.links.product();
        let uri = Zeroizing::new(totp::otpauth_uri(issuer, &user.email, &b32));
        let qr_svg = totp::qr_svg(&uri)?;
        Ok(TotpEnrollment {
            secret: b32,
            otpauth_uri: uri,
            qr_svg,
        })
    }

    /// Confirms the caller's pending TOTP secret with a code from it; the
    /// factor counts from now on. Answers new recovery codes (shown once).
    /// A token whose session began before counts as recent: the code proves
    /// possession of the secret just shown.
    pub async fn confirm_totp(
        &self,
        who: &Principal,
        code: &str,
        info: &ClientInfo,
    ) -> Result<RecoveryCodes> {
        let user = self.lifecycle.caller(who).await?;
        self.confirm_totp_for(&user, code, info).await
    }

    pub(crate) async fn confirm_totp_for(
        &self,
        user: &User,
        code: &str,
        info: &ClientInfo,
    ) -> Result<RecoveryCodes> {
        let c = &self.ctx;
        let pending = c
            .store
            .factors(&user.id)
            .await?
            .into_iter()
            .find(|f| f.kind == TOTP && f.confirmed_at.is_none())
            .ok_or(Error::NotFound("pending TOTP enrolment"))?;
        let step = self
            .throttled(&user.id, info, || async {
                let secret = self.open_secret(&pending)?;
                Ok(totp::matching_step(&secret, code, c.now()))
            })
            .await?;
        let now = c.now();
        if !c
            .store
            .confirm_factor(&user.id, TOTP, TOTP, step, now)
            .await?
        {
            return Err(Error::NotFound("pending TOTP enrolment"));
        }
        let (codes, hashes) = new_recovery_codes()?;
        c.store.set_recovery_codes(&user.id, &hashes, now).await?;
        c.audit(
            AuditEvent::MfaEnrolled,
            Some(&user.id),
            None,
            info,
            Some("totp".into()),
        )
        .await;
        self.links.notify(MailKind::MfaChanged, &user.email);
        Ok(codes)
    }

    /// Removes the caller's TOTP factor, proved by a current code or by
    /// `current_password`. With no factor left, the recovery codes go too.
    pub async fn remove_totp(
        &self,
        who: &Principal,
        code: Option<&str>,
        current_password: Option<&str>,
        info: &ClientInfo,
    ) -> Result<()> {
        let user = self.lifecycle.caller(who).await?;
        if !state_of(&self.ctx, &user.id).await?.totp {
            return Err(Error::NotFound("TOTP factor"));
        }
        match (code, current_password) {
            (Some(code), _) => {
                self.verify(&user, MfaProof::Totp(code), info).await?;
            }
            (None, Some(pw)) => self.lifecycle.check_current(&user, pw, info).await?,
            (None, None) => return Err(Error::MissingParameter("code")),
        }
        let c = &self.ctx;
        if c.store.delete_factors(&user.id, Some(TOTP)).await? == 0 {
            return Err(Error::NotFound("TOTP factor"));
        }
        if !state_of(c, &user.id).await?.enrolled() {
            c.store.set_recovery_codes(&user.id, &[], c.now()).await?;
        }
        c.audit(
            AuditEvent::MfaRemoved,
            Some(&user.id),
            None,
            info,
            Some("totp".into()),
        )
        .await;
        self.links.notify(MailKind::MfaChanged, &user.email);
        Ok(())
    }

    /// New recovery codes for the caller (recent authentication), replacing
    /// the old ones; only with a factor enrolled.
    pub async fn regenerate_recovery_codes(
        &self,
        who: &Principal,
        current_password: Option<&str>,
        info: &ClientInfo,
    ) -> Result<RecoveryCodes> {
        let user = self.recent_caller(who, current_password, info).await?;
        let c = &self.ctx;
        if !state_of(c, &user.id).await?.enrolled() {
            return Err(Error::NotFound("second factor"));
        }
        let (codes, hashes) = new_recovery_codes()?;
        c.store
            .set_recovery_codes(&user.id, &hashes, c.now())
            .await?;
        c.audit(
            AuditEvent::RecoveryCodesRegenerated,
            Some(&user.id),
            None,
            info,
            None,
        )
        .await;
        self.links.notify(MailKind::MfaChanged, &user.email);
        Ok(codes)
    }

    /// Admin (or the CLI): removes every second factor and recovery code of
    /// a user, so they sign in with the password alone again (or enrol anew
    /// where MFA is required).
    pub async fn reset(&self, user_id: &str, info: &ClientInfo) -> Result<u64> {
        let c = &self.ctx;
        let user = match storable(user_id) {
            true => c.store.user_by_id(user_id).await?,
            false => None,
        }
        .ok_or(Error::NotFound("user"))?;
        let n = c.store.delete_factors(&user.id, None).await?;
        c.store.set_recovery_codes(&user.id, &[], c.now()).await?;
        c.audit(
            AuditEvent::MfaReset,
            Some(&user.id),
            None,
            info,
            Some(format!("{n} factors")),
        )
        .await;
        self.links.notify(MailKind::MfaChanged, &user.email);
        Ok(n)
    }

    /// The plain TOTP secret of a factor.
    fn open_secret(&self, f: &MfaFactor) -> Result<Zeroizing<Vec<u8>>> {
        crypto::open(self.ctx.secret.seal_key(), &seal_aad(&f.user_id), &f.secret)
            .map_err(|e| Error::internal_in("opening a TOTP secret", e))
    }

    /// Runs `check` (`Some`: right) under the login throttle of the user's
    /// second factor (key `mfa:<user id>`, and the IP): refused while it
    /// backs off; a wrong answer is a failure (and an `mfa.failure` audit
    /// row). A right one does not make the address known (see the
    /// throttle): the account's backoff applies from every address.
    async fn throttled<T, F, Fut>(&self, user_id: &str, info: &ClientInfo, check: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let key = format!("mfa:{user_id}");
        let ip = info.throttle_key();
        let now = self.ctx.now_millis();
        let ticket = self
            .limiter
            .begin_login(&key, ip.as_deref(), now)
            .await
            .map_err(Error::TooManyRequests)?;
        let result = check().await;
        let now = self.ctx.now_millis();
        match result {
            Ok(Some(v)) => {
                // Not `login_succeeded`: that would make the address
                // "known" and exempt it from the account's backoff, and
                // whoever reaches this step already has the password.
                self.limiter.login_abandoned(ticket, now).await;
                Ok(v)
            }
            Ok(None) => {
                self.limiter.login_failed(ticket, now).await;
                self.ctx
                    .audit_repeated(AuditEvent::MfaFailure, Some(user_id), info)
                    .await;
                Err(Error::InvalidMfaCode)
            }
            Err(e) => {
                self.limiter.login_abandoned(ticket, now).await;
                Err(e)
            }
        }
    }

    /// Checks a code against the user's confirmed factors, under the
    /// throttle; spends it (a TOTP step, a recovery code). Answers the RFC
    /// 8176 method: `otp` for both (a recovery code is a one-time password;
    /// its use is audited and mailed to the user).
    pub(crate) async fn verify(
        &self,
        user: &User,
        proof: MfaProof<'_>,
        info: &ClientInfo,
    ) -> Result<&'static str> {
        match proof {
            MfaProof::Totp(code) => self.verify_totp(user, code, info).await?,
            MfaProof::RecoveryCode(code) => self.spend_recovery_code(user, code, info).await?,
        }
        Ok("otp")
    }

    /// A current code of the user's confirmed TOTP factor, never a step
    /// used before (or older than one used): the counter only moves forward.
    async fn verify_totp(&self, user: &User, code: &str, info: &ClientInfo) -> Result<()> {
        let c = &self.ctx;
        let factor = c
            .store
            .factors(&user.id)
            .await?
            .into_iter()
            .find(|f| f.kind == TOTP && f.confirmed_at.is_some());
        self.throttled(&user.id, info, || async {
            let Some(f) = factor else {
                return Ok(None);
            };
            let secret = self.open_secret(&f)?;
            let Some(step) = totp::matching_step(&secret, code, c.now()) else {
                return Ok(None);
            };
            let fresh = c.store.advance_factor(&user.id, TOTP, TOTP, step).await?;
            Ok(fresh.then_some(()))
        })
        .await
    }

    /// One of the user's unused recovery codes, compared (by hash) in
    /// constant time with every one, then spent; audited and mailed.
    async fn spend_recovery_code(&self, user: &User, code: &str, info: &ClientInfo) -> Result<()> {
        let c = &self.ctx;
        let want = recovery_hash(code);
        let unused = c.store.unused_recovery_codes(&user.id).await?;
        self.throttled(&user.id, info, || async {
            let mut found = None;
            for h in &unused {
                if crypto::constant_time_eq(h, &want) {
                    found = Some(h.clone());
                }
            }
            let Some(h) = found else {
                return Ok(None);
            };
            let won = c.store.use_recovery_code(&user.id, &h, c.now()).await?;
            Ok(won.then_some(()))
        })
        .await?;
        let event = AuditEvent::RecoveryCodeUsed;
        c.audit(event, Some(&user.id), None, info, None).await;
        self.links.notify(MailKind::RecoveryCodeUsed, &user.email);
        Ok(())
    }
}
