//! Access tokens and the keys that sign them: issuing, verifying the
//! signature and claims, the published JWKS, and key rotation.

use crate::claims::AccessClaims;
use crate::config::secs;
use crate::ctx::{random_id, Ctx};
use crate::error::{Error, Result};
use crate::events::AuditEvent;
use crate::events::ClientInfo;
use crate::keys::KeyInfo;
use std::sync::Arc;
use tessera_jose::UnverifiedToken;

/// What an access token is issued for.
pub(crate) struct Grantee<'a> {
    pub(crate) sub: &'a str,
    pub(crate) sid: Option<&'a str>,
    pub(crate) roles: &'a [String],
    pub(crate) scope: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    /// Whether the user's email is verified (`None`: not a user).
    pub(crate) email_verified: Option<bool>,
    /// The latest the token may expire: a session's absolute expiry. An
    /// access token never outlives the session it belongs to.
    pub(crate) not_after: Option<i64>,
    /// The DPoP key the token is bound to (`cnf.jkt`), if any.
    pub(crate) jkt: Option<&'a str>,
}

impl Grantee<'_> {
    /// The token's lifetime in seconds from `now`: the configured TTL,
    /// cut short by `not_after`.
    pub(crate) fn lifetime(&self, ttl: i64, now: i64) -> i64 {
        let exp = now.saturating_add(ttl);
        let exp = self.not_after.map_or(exp, |limit| exp.min(limit));
        exp.saturating_sub(now).max(0)
    }
}

/// Signs an access token valid from `now`, for [`Grantee::lifetime`].
pub(crate) fn issue_access(ctx: &Ctx, to: Grantee<'_>, now: i64) -> Result<String> {
    let cfg = &ctx.cfg;
    let claims = AccessClaims {
        iss: cfg.issuer.clone(),
        sub: to.sub.to_owned(),
        aud: cfg.audience.clone(),
        exp: now.saturating_add(to.lifetime(secs(cfg.access_token_ttl), now)),
        iat: now,
        jti: random_id(12)?,
        sid: to.sid.map(str::to_owned),
        roles: to.roles.to_vec(),
        scope: to.scope.map(str::to_owned),
        client_id: to.client_id.map(str::to_owned),
        email_verified: to.email_verified,
        cnf: to.jkt.map(|jkt| tessera_api::Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let keys = ctx.keys.current(now);
    let typ = Some(tessera_jose::ACCESS_TOKEN_TYP);
    match &cfg.access_token_encryption {
        None => tessera_jose::encode(keys.signer(), typ, &claims)
            .map_err(|e| Error::internal_in("signing", e)),
        Some(e) => {
            let to = e.key.encryption_key();
            tessera_jose::jwe::encode_encrypted(keys.signer(), typ, &claims, &to, e.enc)
                .map_err(|e| Error::internal_in("signing and encrypting", e))
        }
    }
}

/// The signed token inside `token`: with access-token encryption on, a JWE
/// (five parts) is decrypted with the server's key (only the configured
/// `enc`, `cty: "JWT"` required); anything else is returned as it is.
pub(crate) fn open_access<'a>(
    ctx: &Ctx,
    token: &'a str,
) -> std::result::Result<std::borrow::Cow<'a, str>, tessera_jose::Error> {
    use tessera_jose::{Error as E, JweError};
    let Some(e) = &ctx.cfg.access_token_encryption else {
        return Ok(token.into());
    };
    if token.bytes().filter(|b| *b == b'.').count() != 4 {
        return Ok(token.into());
    }
    let opened = tessera_jose::jwe::decrypt(token, &e.key, e.enc, &ctx.validation.limits)?;
    if !opened
        .header()
        .cty()
        .is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
    {
        return Err(E::Jwe(JweError::NotNested));
    }
    let (_, plain) = opened.into_parts();
    String::from_utf8(plain.to_vec())
        .map(Into::into)
        .map_err(|_| E::Jwe(JweError::NotNested))
}

/// Verifies an access token's signature and claims (not its liveness).
pub(crate) fn verify_access(ctx: &Ctx, token: &str) -> Option<AccessClaims> {
    let now = ctx.now();
    let keys = ctx.keys.current(now);
    let v = &ctx.validation;
    let token = open_access(ctx, token).ok()?;
    UnverifiedToken::parse(&token, &v.limits)
        .and_then(|t| t.verify_with(keys.keyset()))
        .and_then(|t| t.validate::<AccessClaims>(v, now))
        .ok()
        .map(|d| d.claims)
}

/// The signing keys as the world and operators see them.
#[derive(Clone)]
pub struct Tokens {
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Tokens { ctx }
    }

    /// The published JWKS (every verification key, with the ID-token
    /// ring's RS256 keys), serialised.
    pub fn jwks_json(&self) -> Arc<str> {
        let now = self.ctx.now();
        let main = self.ctx.keys.current(now).jwks_json().clone();
        let Some(id) = &self.ctx.id_keys else {
            return main;
        };
        let id = id.current(now).jwks_json().clone();
        let keys = |json: &str| {
            serde_json::from_str::<serde_json::Value>(json)
                .ok()
                .and_then(|mut v| v.get_mut("keys").map(serde_json::Value::take))
                .and_then(|k| match k {
                    serde_json::Value::Array(a) => Some(a),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let mut all = keys(&main);
        all.extend(keys(&id));
        serde_json::json!({ "keys": all }).to_string().into()
    }

    /// The published keys, for operators.
    pub fn key_infos(&self) -> Vec<KeyInfo> {
        self.ctx.keys.current(self.ctx.now()).infos().to_vec()
    }

    /// Admin: the keys revoked so far, with what the store kept of them.
    pub async fn revoked_keys(&self) -> Result<Vec<tessera_store::RevokedKeyRecord>> {
        Ok(self.ctx.store.revoked_key_records().await?)
    }

    /// Seconds since the key that signs now was created.
    pub fn signing_key_age(&self) -> Option<i64> {
        let now = self.ctx.now();
        let keys = self.ctx.keys.current(now);
        keys.infos()
            .iter()
            .find(|k| k.signing)
            .map(|k| now.saturating_sub(k.created_at))
    }

    /// Verifies an access token's signature and claims only: not whether
    /// its session is still alive (see [`crate::Sessions::authenticate`]).
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        verify_access(&self.ctx, token)
    }

    /// Admin: revokes a signing key after a suspected compromise (see
    /// [`crate::Keys::revoke`]). Sessions are not ended: refresh tokens do
    /// not depend on signing keys, so their holders simply get access
    /// tokens from the new key. Returns the revoked key and the signing one.
    pub async fn revoke_key(&self, kid: &str, ctx: &ClientInfo) -> Result<(KeyInfo, KeyInfo)> {
        let now = self.ctx.now();
        let ring = match &self.ctx.id_keys {
            Some(id) if kid.starts_with(crate::keys::ID_KID_PREFIX) => id,
            _ => &self.ctx.keys,
        };
        let (revoked, signing) = ring.revoke(kid, now).await?;
        // Wakes the feed's long polls: followers drop the key at once.
        self.ctx.signal_revoked();
        self.ctx
            .audit(
                AuditEvent::KeyRevoked,
                None,
                None,
                ctx,
                Some(format!("{} (now signing: {})", revoked.kid, signing.kid)),
            )
            .await;
        Ok((revoked, signing))
    }

    /// Admin: rotates the signing key.
    pub async fn rotate_keys(&self, immediate: bool, ctx: &ClientInfo) -> Result<KeyInfo> {
        let info = self.ctx.keys.rotate(self.ctx.now(), immediate).await?;
        // The ID-token ring turns over with it (a suspected compromise
        // rarely spares one key).
        if let Some(id) = &self.ctx.id_keys {
            id.rotate(self.ctx.now(), immediate).await?;
        }
        self.ctx
            .audit(
                AuditEvent::KeyRotated,
                None,
                None,
                ctx,
                Some(info.kid.clone()),
            )
            .await;
        Ok(info)
    }
}
