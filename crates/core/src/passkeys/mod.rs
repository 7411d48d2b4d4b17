//! Passkeys (WebAuthn Level 3, issue 17): registering discoverable
//! credentials on an account, listing and removing them, and signing in
//! with one, without a password or as the second factor of a sign-in.
//!
//! The WebAuthn checks (challenge, origin, RP ID hash, signature, user
//! verification, the signature counter) are the Kanidm project's
//! `webauthn-rs`. The state of a ceremony stays on the server
//! (in the store's key-value table); the client holds only its random id. A passkey's own
//! record (public key, counter, backup flags) is the library's
//! serialisation, kept opaque by the store.
//!
//! Every passkey sign-in verifies the user (`webauthn-rs`'s passkeys always
//! require user verification), so its `amr` (RFC 8176) is `hwk` (a
//! device-bound key) or `swk` (a backup-eligible, synced one), `user`, and
//! `mfa`: something the user has, unlocked by something they know or are.

mod ceremony;
mod second;

pub use ceremony::CEREMONY_TTL_SECS;

use crate::claims::Principal;
use crate::ctx::{random_id, storable, Ctx};
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::lifecycle::Links;
use crate::mail::MailKind;
use crate::sessions::{Authn, Sessions, TokenPair};
use crate::throttle::{Action, Limiter};
use ceremony::{relying_party, take, unknown_ceremony, user_handle, Ceremony};
use serde_json::Value;
use std::sync::Arc;
use tessera_store::{PasskeyUse, User};
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableKey, Passkey, PublicKeyCredential,
    RegisterPublicKeyCredential, Webauthn,
};

/// The longest name of a passkey, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A registered passkey, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    /// Its id.
    pub id: String,
    /// The owner's name for it.
    pub name: String,
    /// When it was added.
    pub created_at: i64,
    /// When it last signed in.
    pub last_used_at: Option<i64>,
    /// It may be synced between devices (backup eligible).
    pub synced: bool,
}

impl From<tessera_store::Passkey> for PasskeyInfo {
    fn from(p: tessera_store::Passkey) -> Self {
        PasskeyInfo {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            synced: p.backup_eligible,
        }
    }
}

/// The options of a ceremony: its id (send it back with the credential) and
/// the `publicKey` options for `navigator.credentials.create`/`get`.
#[derive(Debug, Clone)]
pub struct CeremonyOptions {
    /// The ceremony's id: single-use, valid [`CEREMONY_TTL_SECS`].
    pub ceremony: String,
    /// The WebAuthn options (`{"publicKey": {...}}`), binary members in
    /// base64url.
    pub options: Value,
}

/// A passkey sign-in: the token pair and the `amr` values it proved.
#[derive(Debug, Clone)]
pub struct PasskeySignIn {
    /// The new session's tokens.
    pub pair: TokenPair,
    /// RFC 8176 methods: `hwk` or `swk`, `user`, `mfa`.
    pub amr: Vec<&'static str>,
}

/// Registering, listing, removing and signing in with passkeys.
#[derive(Clone)]
pub struct Passkeys {
    ctx: Arc<Ctx>,
    sessions: Sessions,
    links: Arc<Links>,
    mfa: crate::Mfa,
    limiter: Arc<Limiter>,
    /// `None`: passkeys are off (the default RP ID would be an IP address).
    rp: Option<Arc<Webauthn>>,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys").finish_non_exhaustive()
    }
}

fn bad_credential(e: impl std::fmt::Display) -> Error {
    Error::InvalidInput {
        field: "credential",
        message: format!("was refused: {e}"),
    }
}

/// The `amr` of a verified passkey assertion (RFC 8176).
pub(crate) fn amr_of(res: &AuthenticationResult) -> Vec<&'static str> {
    let key = if res.backup_eligible() { "swk" } else { "hwk" };
    if res.user_verified() {
        vec![key, "user", "mfa"]
    } else {
        vec![key]
    }
}

impl Passkeys {
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        sessions: Sessions,
        links: Arc<Links>,
        mfa: crate::Mfa,
        limiter: Arc<Limiter>,
    ) -> Result<Self> {
        let policy = &ctx.cfg.webauthn;
        let rp = match relying_party(&ctx.cfg.issuer, policy) {
            Ok(rp) => Some(Arc::new(rp)),
            // Only the default may fail quietly: an IP address is no RP ID.
            Err(e) if policy.rp_id.is_none() && policy.origins.is_empty() => {
                tracing::info!(
                    error = %e,
                    "passkeys are off: the issuer's host is not a domain; set webauthn_rp_id"
                );
                None
            }
            Err(e) => return Err(e),
        };
        Ok(Passkeys {
            ctx,
            sessions,
            links,
            mfa,
            limiter,
            rp,
        })
    }

    /// True if passkeys are on (the relying party is a domain).
    pub fn enabled(&self) -> bool {
        self.rp.is_some()
    }

    fn rp(&self) -> Result<&Webauthn> {
        self.rp.as_deref().ok_or(Error::Forbidden(
            "passkeys are off on this server: its issuer's host is not a domain \
             (set webauthn_rp_id and webauthn_origins)",
        ))
    }

    async fn user(&self, user_id: &str) -> Result<User> {
        self.ctx
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::InvalidToken(crate::TokenRefused::AccountGone))
    }

    /// The creation options for a new passkey on the caller's account:
    /// discoverable (resident key required), user verification required,
    /// the caller's passkeys excluded.
    pub async fn registration_options(&self, who: &Principal) -> Result<CeremonyOptions> {
        let user = self.user(who.user_id()).await?;
        let exclude = self
            .ctx
            .store
            .passkeys(&user.id)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.data).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let handle = user_handle(&self.ctx, &user.id);
        let (ccr, state) = self
            .rp()?
            .start_passkey_registration(handle, &user.email, &user.email, Some(exclude))
            .map_err(Error::internal)?;
        let mut options = serde_json::to_value(&ccr).map_err(Error::internal)?;
        // A passkey is a discoverable credential: it signs in without a
        // user name first.
        if let Some(sel) = options["publicKey"]["authenticatorSelection"].as_object_mut() {
            sel.insert("residentKey".into(), "required".into());
            sel.insert("requireResidentKey".into(), true.into());
        }
        let c = Ceremony::Register {
            user_id: user.id,
            state,
        };
        let ceremony = ceremony::begin(&self.ctx, &c).await?;
        Ok(CeremonyOptions { ceremony, options })
    }

    /// Finishes a registration: checks the authenticator's answer against
    /// the ceremony (which must be the caller's), stores the passkey, audits
    /// it and tells the account's address.
    pub async fn register(
        &self,
        who: &Principal,
        ceremony: &str,
        credential: &Value,
        name: Option<&str>,
        ctx: &ClientInfo,
    ) -> Result<PasskeyInfo> {
        let name = clean_name(name)?;
        let reg: RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(bad_credential)?;
        let (user_id, state) = match take(&self.ctx, ceremony).await? {
            Ceremony::Register { user_id, state } if user_id == who.user_id() => (user_id, state),
            _ => return Err(unknown_ceremony()),
        };
        let pk = self
            .rp()?
            .finish_passkey_registration(&reg, &state)
            .map_err(bad_credential)?;
        let user = self.user(&user_id).await?;
        let data = serde_json::to_value(&pk).map_err(Error::internal)?;
        let flag = |k: &str| data["cred"][k].as_bool().unwrap_or(false);
        let row = tessera_store::Passkey {
            id: random_id(16)?,
            user_id: user.id.clone(),
            credential_id: pk.cred_id().to_vec(),
            name,
            data: data.to_string(),
            sign_count: data["cred"]["counter"].as_i64().unwrap_or(0),
            backup_eligible: flag("backup_eligible"),
            backup_state: flag("backup_state"),
            created_at: self.ctx.now(),
            last_used_at: None,
        };
        match self.ctx.store.insert_passkey(&row).await {
            Ok(()) => {}
            Err(tessera_store::StoreError::Conflict) => {
                return Err(Error::InvalidInput {
                    field: "credential",
                    message: "this passkey is already registered".into(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        let detail = Some(format!("passkey {}", row.id));
        self.ctx
            .audit(AuditEvent::PasskeyAdded, Some(&user.id), None, ctx, detail)
            .await;
        self.links.notify(MailKind::PasskeyAdded, &user.email);
        Ok(row.into())
    }

    /// The caller's passkeys, oldest first.
    pub async fn list(&self, who: &Principal) -> Result<Vec<PasskeyInfo>> {
        let rows = self.ctx.store.passkeys(who.user_id()).await?;
        Ok(rows.into_iter().map(PasskeyInfo::from).collect())
    }

    /// How many passkeys a user has (the account's factor state).
    pub async fn count(&self, user_id: &str) -> Result<usize> {
        if !storable(user_id) {
            return Ok(0);
        }
        Ok(self.ctx.store.passkeys(user_id).await?.len())
    }

    /// Removes one of the caller's passkeys (404 for anyone else's), audits
    /// it and tells the account's address. With no second factor left, the
    /// recovery codes are deleted too.
    pub async fn remove(&self, who: &Principal, id: &str, ctx: &ClientInfo) -> Result<()> {
        if !storable(id) || !self.ctx.store.delete_passkey(who.user_id(), id).await? {
            return Err(Error::NotFound("passkey"));
        }
        let user = self.user(who.user_id()).await?;
        // As when TOTP goes: with no factor left, the recovery codes go too.
        if !self.mfa.state(&user.id).await?.enrolled() {
            self.ctx
                .store
                .set_recovery_codes(&user.id, &[], self.ctx.now())
                .await?;
        }
        let detail = Some(format!("passkey {id}"));
        self.ctx
            .audit(
                AuditEvent::PasskeyRemoved,
                Some(&user.id),
                None,
                ctx,
                detail,
            )
            .await;
        self.links.notify(MailKind::PasskeyRemoved, &user.email);
        Ok(())
    }

    /// The request options of a passwordless sign-in: any discoverable
    /// credential of this relying party, user verification required.
    /// Anyone may ask and each answer keeps a ceremony, so they are rate
    /// limited per client IP (`passkey_rate_per_minute`).
    pub async fn sign_in_options(&self, ctx: &ClientInfo) -> Result<CeremonyOptions> {
        let rp = self.rp()?;
        self.limiter
            .rate(
                Action::PasskeyOptions,
                ctx.throttle_key().as_deref(),
                self.ctx.now_millis(),
            )
            .await
            .map_err(Error::TooManyRequests)?;
        let (rcr, state) = rp
            .start_discoverable_authentication()
            .map_err(Error::internal)?;
        let mut options = serde_json::to_value(&rcr).map_err(Error::internal)?;
        // The caller chooses the mediation (a button, or conditional UI).
        if let Some(o) = options.as_object_mut() {
            o.remove("mediation");
        }
        let ceremony = ceremony::begin(&self.ctx, &Ceremony::SignIn { state }).await?;
        Ok(CeremonyOptions { ceremony, options })
    }

    /// A passwordless sign-in: the assertion must come from a registered
    /// passkey whose user handle is its account's. An unknown credential
    /// and a bad assertion are the same `invalid_credentials`; a disabled
    /// account (or an unverified email, with `require_verified_email`) is
    /// refused only after a valid assertion.
    pub async fn sign_in(
        &self,
        ceremony: &str,
        credential: &Value,
        ctx: &ClientInfo,
    ) -> Result<PasskeySignIn> {
        let (user, amr) = self.verify_sign_in(ceremony, credential, ctx).await?;
        let authn = Authn {
            amr: amr.iter().map(|a| (*a).to_owned()).collect(),
            auth_time: self.ctx.now(),
        };
        let pair = self
            .sessions
            .start_authenticated(&user, &authn, ctx)
            .await?;
        let sid = Some(pair.session_id.as_str());
        self.ctx
            .audit(
                AuditEvent::LoginSuccess,
                Some(&user.id),
                sid,
                ctx,
                Some("passkey".into()),
            )
            .await;
        Ok(PasskeySignIn { pair, amr })
    }

    /// The checks of [`Passkeys::sign_in`] without a session: the account
    /// and the `amr` the assertion proved (the hosted login page starts its
    /// own SSO session with them).
    pub async fn verify_sign_in(
        &self,
        ceremony: &str,
        credential: &Value,
        ctx: &ClientInfo,
    ) -> Result<(User, Vec<&'static str>)> {
        let rp = self.rp()?;
        let cred: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(bad_credential)?;
        let Ceremony::SignIn { state } = take(&self.ctx, ceremony).await? else {
            return Err(unknown_ceremony());
        };
        let (handle, cred_id) = rp
            .identify_discoverable_authentication(&cred)
            .map_err(|_| Error::InvalidCredentials)?;
        let row = match self.ctx.store.passkey_by_credential(cred_id).await? {
            Some(r) if user_handle(&self.ctx, &r.user_id) == handle => r,
            _ => {
                self.ctx
                    .audit(AuditEvent::PasskeyFailure, None, None, ctx, None)
                    .await;
                return Err(Error::InvalidCredentials);
            }
        };
        let pk: Passkey = serde_json::from_str(&row.data).map_err(Error::internal)?;
        let keys = [DiscoverableKey::from(&pk)];
        let Ok(res) = rp.finish_discoverable_authentication(&cred, state, &keys) else {
            self.ctx
                .audit(
                    AuditEvent::PasskeyFailure,
                    Some(&row.user_id),
                    None,
                    ctx,
                    None,
                )
                .await;
            return Err(Error::InvalidCredentials);
        };
        self.record_use(&row, pk, &res).await?;
        let user = self.user(&row.user_id).await?;
        self.check_account(&user)?;
        Ok((user, amr_of(&res)))
    }

    fn check_account(&self, user: &User) -> Result<()> {
        if user.disabled() {
            return Err(Error::AccountDisabled);
        }
        if self.ctx.cfg.require_verified_email && !user.email_verified() {
            return Err(Error::EmailNotVerified);
        }
        Ok(())
    }

    /// Stores the new counter and backup flags of a passkey after a use.
    async fn record_use(
        &self,
        row: &tessera_store::Passkey,
        mut pk: Passkey,
        res: &AuthenticationResult,
    ) -> Result<()> {
        pk.update_credential(res);
        let data = serde_json::to_string(&pk).map_err(Error::internal)?;
        let used = PasskeyUse {
            id: &row.id,
            data: &data,
            sign_count: i64::from(res.counter()),
            backup_eligible: res.backup_eligible() || row.backup_eligible,
            backup_state: res.backup_state(),
            at: self.ctx.now(),
        };
        self.ctx.store.record_passkey_use(&used).await?;
        Ok(())
    }
}

/// A passkey's name: trimmed, at most [`MAX_NAME_CHARS`], no control
/// characters; "Passkey" when none is given.
fn clean_name(name: Option<&str>) -> Result<String> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok("Passkey".into());
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::InvalidInput {
            field: "name",
            message: format!(
                "must be at most {MAX_NAME_CHARS} characters, without control characters"
            ),
        });
    }
    Ok(name.to_owned())
}
