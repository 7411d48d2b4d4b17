//! The relying party and the state kept between a ceremony's options and its
//! finish: server-side, in the store's key-value role, under the SHA-256 of
//! a random id that only the client holds; short-lived and single-use (the
//! finish consumes it with a compare-and-swap, so of two concurrent finishes
//! one gets it).

use crate::config::WebauthnPolicy;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tessera_jose::{b64, crypto};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

/// How long a ceremony may take, from its options to its finish.
pub const CEREMONY_TTL_SECS: i64 = 300;

/// What a ceremony remembers between options and finish.
#[derive(Serialize, Deserialize)]
pub(crate) enum Ceremony {
    /// Adding a passkey to `user_id`'s account.
    Register {
        user_id: String,
        state: PasskeyRegistration,
    },
    /// Signing in with a discoverable passkey (no user known yet).
    SignIn { state: DiscoverableAuthentication },
    /// The second step of `user_id`'s sign-in (stored under its
    /// `mfa_token`).
    SecondFactor {
        user_id: String,
        state: PasskeyAuthentication,
    },
}

/// The relying party of `policy`, defaulting to the issuer's host and origin.
pub(crate) fn relying_party(issuer: &str, policy: &WebauthnPolicy) -> Result<Webauthn> {
    let bad = |key: &'static str, message: String| Error::Config { key, message };
    let issuer_url =
        Url::parse(issuer).map_err(|e| bad("issuer", format!("is not a URL ({e})")))?;
    let rp_id = match &policy.rp_id {
        Some(id) => id.trim().to_ascii_lowercase(),
        None => issuer_url
            .host_str()
            .map(str::to_owned)
            .ok_or_else(|| bad("issuer", "has no host".into()))?,
    };
    let origins: Vec<Url> = if policy.origins.is_empty() {
        vec![issuer_url.clone()]
    } else {
        policy
            .origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| bad("webauthn_origins", format!("{o:?}: {e}"))))
            .collect::<Result<_>>()?
    };
    let first = origins
        .first()
        .ok_or_else(|| bad("webauthn_origins", "is empty".into()))?;
    let not_under = |o: &Url| {
        bad(
            "webauthn_rp_id",
            format!("{rp_id:?} is not the host of {o} or a parent domain of it (WebAuthn §5.1.3)"),
        )
    };
    let mut builder = WebauthnBuilder::new(&rp_id, first).map_err(|_| not_under(first))?;
    for o in &origins[1..] {
        // The builder checks only the first origin against the RP ID.
        WebauthnBuilder::new(&rp_id, o).map_err(|_| not_under(o))?;
        builder = builder.append_allowed_origin(o);
    }
    let name = if policy.rp_name.trim().is_empty() {
        "Tessera"
    } else {
        policy.rp_name.as_str()
    };
    builder
        .rp_name(name)
        .timeout(std::time::Duration::from_secs(CEREMONY_TTL_SECS as u64))
        .build()
        .map_err(|e| bad("webauthn_rp_id", e.to_string()))
}

/// The WebAuthn user handle of a user: 16 bytes derived from their id with
/// a key from the server secret (so the handle reveals nothing, and needs no
/// column).
pub(crate) fn user_handle(ctx: &Ctx, user_id: &str) -> Uuid {
    let mac = crypto::hmac_sha256(ctx.secret.webauthn_key(), user_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&mac[..16]);
    Uuid::from_bytes(b)
}

fn kv_key(id: &str) -> String {
    format!("webauthn:{}", b64::encode(&crypto::sha256(id.as_bytes())))
}

/// The error of a ceremony id that is unknown, used or expired.
pub(crate) fn unknown_ceremony() -> Error {
    Error::InvalidInput {
        field: "ceremony",
        message: "is unknown, already used or expired: ask for new options".into(),
    }
}

/// Stores `c` under a new random id, which is returned.
pub(crate) async fn begin(ctx: &Ctx, c: &Ceremony) -> Result<String> {
    let id = crate::ctx::random_id(32)?;
    let value = serde_json::to_vec(c).map_err(Error::internal)?;
    let now = ctx.now_millis();
    let expires = now.saturating_add(CEREMONY_TTL_SECS * 1000);
    if !ctx
        .store
        .kv_put(&kv_key(&id), None, &value, expires, now)
        .await?
    {
        return Err(Error::internal_msg("a new ceremony id collided"));
    }
    Ok(id)
}

/// Takes the ceremony `id` (once: a second call, or one after it expired,
/// gets [`unknown_ceremony`]).
pub(crate) async fn take(ctx: &Ctx, id: &str) -> Result<Ceremony> {
    if id.len() != 43
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(unknown_ceremony());
    }
    take_key(ctx, &kv_key(id)).await
}

/// The key of the passkey ceremony of a login's second step: its
/// `mfa_token` names it (so `POST /v1/auth/mfa` needs no other id).
fn mfa_key(mfa_token: &str) -> String {
    format!(
        "webauthn-mfa:{}",
        b64::encode(&crypto::sha256(mfa_token.as_bytes()))
    )
}

/// Stores the second-step ceremony of `mfa_token`, replacing an earlier one.
pub(crate) async fn begin_for_mfa(ctx: &Ctx, mfa_token: &str, c: &Ceremony) -> Result<()> {
    let key = mfa_key(mfa_token);
    let value = serde_json::to_vec(c).map_err(Error::internal)?;
    ctx.store.kv_delete(&key).await?;
    let now = ctx.now_millis();
    let expires = now.saturating_add(CEREMONY_TTL_SECS * 1000);
    if !ctx.store.kv_put(&key, None, &value, expires, now).await? {
        return Err(Error::InvalidInput {
            field: "mfa_token",
            message: "passkey options were asked for twice at once; ask again".into(),
        });
    }
    Ok(())
}

/// Takes the second-step ceremony of `mfa_token` (once).
pub(crate) async fn take_for_mfa(ctx: &Ctx, mfa_token: &str) -> Result<Ceremony> {
    take_key(ctx, &mfa_key(mfa_token))
        .await
        .map_err(|_| Error::InvalidInput {
            field: "passkey",
            message: "no passkey ceremony is open for this mfa_token: ask for \
                  /v1/auth/mfa/passkey/options first (options work once, five minutes)"
                .into(),
        })
}

async fn take_key(ctx: &Ctx, key: &str) -> Result<Ceremony> {
    let now = ctx.now_millis();
    let Some((value, version)) = ctx.store.kv_get(key, now).await? else {
        return Err(unknown_ceremony());
    };
    // Expire it in place: of concurrent takers only one wins this swap.
    if !ctx.store.kv_put(key, Some(version), b"", now, now).await? {
        return Err(unknown_ceremony());
    }
    if let Err(e) = ctx.store.kv_delete(key).await {
        tracing::debug!(error = %e, "a used ceremony stays until the purge");
    }
    serde_json::from_slice(&value).map_err(|_| unknown_ceremony())
}
