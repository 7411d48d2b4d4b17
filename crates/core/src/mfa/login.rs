//! The second step of a login: the `mfa_token` a right password earns when
//! a factor is enrolled (or must be), and its trade for the token pair.

use super::{state_of, Mfa, RecoveryCodes, TotpEnrollment};
use crate::config::secs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::sessions::{Authn, TokenPair};
use serde::{Deserialize, Serialize};
use tessera_jose::{b64, crypto};
use tessera_store::User;
use zeroize::Zeroizing;

/// The purpose of a token that continues a login with a factor.
const LOGIN: &str = "login";
/// The purpose of a token that must enrol a factor first.
const ENROLL: &str = "enroll";

/// What [`crate::Error::MfaRequired`] carries: the token that continues
/// the login, and how. `Debug` hides the token.
#[derive(Clone)]
pub struct MfaChallenge {
    /// The `mfa_token` (a bearer secret: 32 random bytes, base64url).
    pub mfa_token: Zeroizing<String>,
    /// The methods the second step may use (`totp`, `recovery_code`; with
    /// `enrollment`, the factors that may be enrolled).
    pub methods: Vec<String>,
    /// No factor is enrolled but one is required: enrol first.
    pub enrollment: bool,
    /// Seconds the token works.
    pub expires_in: i64,
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("methods", &self.methods)
            .field("enrollment", &self.enrollment)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A second factor presented with an `mfa_token`. `Debug` hides the code.
#[derive(Clone, Copy)]
pub enum MfaProof<'a> {
    /// A current TOTP code.
    Totp(&'a str),
    /// An unused recovery code.
    RecoveryCode(&'a str),
}

impl std::fmt::Debug for MfaProof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MfaProof::Totp(_) => "Totp(<redacted>)",
            MfaProof::RecoveryCode(_) => "RecoveryCode(<redacted>)",
        })
    }
}

/// The login an `mfa_token` is bound to (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Binding {
    client_id: Option<String>,
    jkt: Option<String>,
    cookie: bool,
}

impl Binding {
    fn of(info: &ClientInfo, cookie: bool) -> Self {
        Binding {
            client_id: info.oauth_client.clone(),
            jkt: info.dpop_jkt.clone(),
            cookie,
        }
    }
}

/// A live, unspent `mfa_token`, checked against the request that presents
/// it: whose login it continues. Spent by [`Mfa::finish`].
#[derive(Debug, Clone)]
pub struct PendingMfa {
    /// The user.
    pub user_id: String,
    /// The factor must be enrolled first (`mfa_enrollment_required`).
    pub enrollment: bool,
    hash: [u8; 32],
}

/// Answers [`Error::MfaRequired`] (and stores its token) when `user`, who
/// just gave the right password, has a second factor or must enrol one;
/// `Ok` when the password alone signs them in.
pub(crate) async fn gate(ctx: &Ctx, user: &User, info: &ClientInfo, cookie: bool) -> Result<()> {
    let state = state_of(ctx, &user.id).await?;
    let policy = &ctx.cfg.mfa;
    let required = policy.required || user.roles.iter().any(|r| policy.required_roles.contains(r));
    let (purpose, methods) = if state.enrolled() {
        (LOGIN, state.methods())
    } else if required {
        (ENROLL, vec!["totp".to_owned()])
    } else {
        return Ok(());
    };
    let raw = crypto::random_bytes(32).map_err(Error::internal)?;
    let token = Zeroizing::new(b64::encode(&raw));
    let now = ctx.now();
    let ttl = secs(policy.token_ttl);
    let data = serde_json::to_string(&Binding::of(info, cookie)).map_err(Error::internal)?;
    ctx.store
        .insert_mfa_challenge(&tessera_store::MfaChallenge {
            token_hash: crypto::sha256(token.as_bytes()).to_vec(),
            user_id: user.id.clone(),
            purpose: purpose.into(),
            data,
            created_at: now,
            expires_at: now.saturating_add(ttl),
            used_at: None,
        })
        .await?;
    ctx.audit(
        AuditEvent::MfaRequired,
        Some(&user.id),
        None,
        info,
        Some(purpose.into()),
    )
    .await;
    Err(Error::MfaRequired(MfaChallenge {
        mfa_token: token,
        methods,
        enrollment: purpose == ENROLL,
        expires_in: ttl,
    }))
}

/// The SHA-256 of a token-shaped `mfa_token` (43 base64url characters).
fn token_hash(text: &str) -> Option<[u8; 32]> {
    let ok = text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| crypto::sha256(text.as_bytes()))
}

impl Mfa {
    /// Checks an `mfa_token` against the request presenting it (`info`:
    /// the same OAuth client and DPoP key as the login, `cookie`: the same
    /// mode): unknown, spent and expired tokens are
    /// [`Error::InvalidMfaToken`]; one from another login is
    /// [`Error::InvalidInput`]. Does not spend it.
    pub async fn pending(
        &self,
        mfa_token: &str,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<PendingMfa> {
        let c = &self.ctx;
        let hash = token_hash(mfa_token).ok_or(Error::InvalidMfaToken("unknown token"))?;
        let row = c
            .store
            .mfa_challenge(&hash)
            .await?
            .ok_or(Error::InvalidMfaToken("unknown token"))?;
        if row.used_at.is_some() {
            return Err(Error::InvalidMfaToken("already used"));
        }
        if c.now() >= row.expires_at {
            return Err(Error::InvalidMfaToken("expired; sign in again"));
        }
        let bound: Binding = serde_json::from_str(&row.data).map_err(Error::internal)?;
        if bound != Binding::of(info, cookie) {
            return Err(Error::InvalidInput {
                field: "mfa_token",
                message: "was issued to another login (OAuth client, DPoP key or cookie mode \
                          differ)"
                    .into(),
            });
        }
        Ok(PendingMfa {
            user_id: row.user_id,
            enrollment: row.purpose == ENROLL,
            hash,
        })
    }

    /// Spends a pending token whose second factor (`factor`, an RFC 8176
    /// `amr` value such as `otp` or `hwk`) the caller has checked, and
    /// starts the session: the same pair a login gives, with `amr`
    /// `[pwd, <factor>, mfa]` and `auth_time` now. A token spent meanwhile
    /// (a concurrent replay) is [`Error::InvalidMfaToken`].
    pub async fn finish(
        &self,
        pending: &PendingMfa,
        factor: &str,
        info: &ClientInfo,
    ) -> Result<TokenPair> {
        let c = &self.ctx;
        let now = c.now();
        if !c.store.spend_mfa_challenge(&pending.hash, now).await? {
            return Err(Error::InvalidMfaToken("already used"));
        }
        let user = c
            .store
            .user_by_id(&pending.user_id)
            .await?
            .ok_or(Error::InvalidMfaToken("unknown token"))?;
        if user.disabled() {
            return Err(Error::AccountDisabled);
        }
        let authn = Authn::with_factor(factor, now);
        let pair = self
            .sessions
            .start_authenticated(&user, &authn, info)
            .await?;
        let sid = Some(pair.session_id.as_str());
        c.audit(
            AuditEvent::MfaSuccess,
            Some(&user.id),
            sid,
            info,
            Some(factor.into()),
        )
        .await;
        c.audit(AuditEvent::LoginSuccess, Some(&user.id), sid, info, None)
            .await;
        Ok(pair)
    }

    async fn user_of(&self, pending: &PendingMfa) -> Result<User> {
        self.ctx
            .store
            .user_by_id(&pending.user_id)
            .await?
            .ok_or(Error::InvalidMfaToken("unknown token"))
    }

    /// `POST /v1/auth/mfa`: the second step of a login. Checks the token
    /// ([`Mfa::pending`]), then the code under the throttle, then spends
    /// the token and answers the pair ([`Mfa::finish`]).
    pub async fn complete(
        &self,
        mfa_token: &str,
        proof: MfaProof<'_>,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<TokenPair> {
        let pending = self.pending(mfa_token, info, cookie).await?;
        if pending.enrollment {
            return Err(Error::InvalidMfaToken(
                "no factor is enrolled yet: enrol TOTP with this token first",
            ));
        }
        let user = self.user_of(&pending).await?;
        let factor = self.verify(&user, proof, info).await?;
        self.finish(&pending, factor, info).await
    }

    /// The hosted login page's second step: checks the token (issued by
    /// [`crate::oidc::Oidc::authenticate_password`]) and the factor, spends
    /// the token, and answers the user and the factor's `amr` value; the
    /// page starts the SSO session with `[pwd, <factor>, mfa]`.
    pub async fn verify_for_sso(
        &self,
        mfa_token: &str,
        proof: MfaProof<'_>,
        info: &ClientInfo,
    ) -> Result<(User, &'static str)> {
        let pending = self.pending(mfa_token, info, true).await?;
        if pending.enrollment {
            return Err(Error::InvalidMfaToken(
                "no factor is enrolled yet: enrol one in your account first",
            ));
        }
        let user = self.user_of(&pending).await?;
        let factor = self.verify(&user, proof, info).await?;
        let user = self.finish_sso(&pending, factor, info).await?;
        Ok((user, factor))
    }

    /// The hosted page's [`Mfa::finish`]: spends a pending token whose
    /// factor (`factor`, its `amr` value) the caller has checked, and
    /// answers the user, for an SSO session with `[pwd, <factor>, mfa]`
    /// (no token pair: the page starts its own session).
    pub async fn finish_sso(
        &self,
        pending: &PendingMfa,
        factor: &str,
        info: &ClientInfo,
    ) -> Result<User> {
        let c = &self.ctx;
        if !c.store.spend_mfa_challenge(&pending.hash, c.now()).await? {
            return Err(Error::InvalidMfaToken("already used"));
        }
        let user = self.user_of(pending).await?;
        if user.disabled() {
            return Err(Error::AccountDisabled);
        }
        let detail = Some(factor.to_owned());
        c.audit(AuditEvent::MfaSuccess, Some(&user.id), None, info, detail)
            .await;
        Ok(user)
    }

    /// Under required MFA: starts TOTP enrolment for the user of an
    /// enrolment token (see [`Mfa::begin_totp`]).
    pub async fn begin_totp_with_token(
        &self,
        mfa_token: &str,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<TotpEnrollment> {
        let pending = self.enrolling(mfa_token, info, cookie).await?;
        let user = self.user_of(&pending).await?;
        self.begin_totp_for(&user).await
    }

    /// Under required MFA: confirms the enrolment with a code, spends the
    /// token and answers the recovery codes and the login's pair.
    pub async fn confirm_totp_with_token(
        &self,
        mfa_token: &str,
        code: &str,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<(RecoveryCodes, TokenPair)> {
        let pending = self.enrolling(mfa_token, info, cookie).await?;
        let user = self.user_of(&pending).await?;
        let codes = self.confirm_totp_for(&user, code, info).await?;
        let pair = self.finish(&pending, "otp", info).await?;
        Ok((codes, pair))
    }

    /// The hosted page's [`Mfa::confirm_totp_with_token`] (a token bound to
    /// cookie mode): confirms the enrolment with a code, spends the token
    /// and answers the recovery codes and the user, for an SSO session with
    /// `[pwd, otp, mfa]`.
    pub async fn confirm_totp_with_token_for_sso(
        &self,
        mfa_token: &str,
        code: &str,
        info: &ClientInfo,
    ) -> Result<(RecoveryCodes, User)> {
        let pending = self.enrolling(mfa_token, info, true).await?;
        let user = self.user_of(&pending).await?;
        let codes = self.confirm_totp_for(&user, code, info).await?;
        let user = self.finish_sso(&pending, "otp", info).await?;
        Ok((codes, user))
    }

    async fn enrolling(&self, token: &str, info: &ClientInfo, cookie: bool) -> Result<PendingMfa> {
        let pending = self.pending(token, info, cookie).await?;
        if !pending.enrollment {
            return Err(Error::InvalidMfaToken(
                "a factor is enrolled already: complete the login at /v1/auth/mfa",
            ));
        }
        Ok(pending)
    }
}
