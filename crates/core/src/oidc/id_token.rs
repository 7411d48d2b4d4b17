//! ID tokens (OIDC Core §2), signed with the server's current signing key.

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tessera_jose::{b64, crypto};

/// The claims of a Tessera ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The request's `nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Authorized party: the client id.
    pub azp: String,
    /// The SSO session id (for logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Authentication methods (`pwd`; `pwd`, `otp`, `mfa` after a second factor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// With `acr_values` in the request: the multi-factor policy when a
    /// second factor was used, else `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Left half of the SHA-256 of the access token, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// With the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// `at_hash` (OIDC Core §3.1.3.6) for the SHA-256 algorithms; `None` for
/// others (the claim is optional in the code flow).
pub(crate) fn at_hash(alg: &str, access_token: &str) -> Option<String> {
    if !alg.ends_with("256") {
        return None;
    }
    let h = crypto::sha256(access_token.as_bytes());
    Some(b64::encode(&h[..16]))
}

/// The key ring that signs ID tokens in `alg` (`None`: the main key's).
pub(crate) fn ring<'a>(ctx: &'a Ctx, alg: Option<&str>) -> &'a crate::keys::Keys {
    match (&ctx.id_keys, alg) {
        (Some(id), Some("RS256")) => id,
        _ => &ctx.keys,
    }
}

/// The algorithms ID tokens can be signed with: the main key's, and RS256.
pub(crate) fn algs(ctx: &Ctx) -> Vec<&'static str> {
    let main = ctx.cfg.signing_alg.as_str();
    let mut out = vec![main];
    if ctx.id_keys.is_some() {
        out.push("RS256");
    }
    out
}

/// Signs an ID token with the current key of the client's algorithm.
pub(crate) fn sign(
    ctx: &Ctx,
    alg: Option<&str>,
    claims: &IdTokenClaims,
    now: i64,
) -> Result<String> {
    let keys = ring(ctx, alg).current(now);
    tessera_jose::encode(keys.signer(), Some("JWT"), claims)
        .map_err(|e| Error::internal_in("signing an ID token", e))
}

/// The signed ID token `jws`, encrypted to the client when it registered
/// `id_token_encrypted_response_alg` (a nested JWT, `cty: "JWT"`).
pub(crate) fn encrypt_for(client: &tessera_store::Client, jws: String) -> Result<String> {
    let (key, enc) = match super::id_token_enc::for_client(client) {
        Ok(Some(k)) => k,
        Ok(None) => return Ok(jws),
        Err((field, message)) => {
            return Err(Error::internal_in(
                "encrypting an ID token",
                std::io::Error::other(format!("client registration, {field}: {message}")),
            ))
        }
    };
    let options = tessera_jose::jwe::EncryptOptions {
        cty: Some("JWT".into()),
        ..tessera_jose::jwe::EncryptOptions::default()
    };
    tessera_jose::jwe::encrypt(jws.as_bytes(), &key, enc, &options)
        .map_err(|e| Error::internal_in("encrypting an ID token", e))
}
