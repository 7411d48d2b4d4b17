//! `tessera token`: decode (unverified) and verify tokens.

use super::print;
use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};
use tessera_jose::{
    Algorithm, Clock, KeySet, SystemClock, UnverifiedToken, Validation, VerifyingKey,
};

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Print a token's header and claims WITHOUT verifying it.
    Decode {
        /// The compact JWT.
        jwt: String,
    },
    /// Verify a token's signature and claims against a JWKS, or with the
    /// shared secret of the HS256 mode.
    Verify {
        /// The compact JWT.
        jwt: String,
        /// JWKS URL (http) or file path.
        #[arg(
            long,
            required_unless_present = "hs_secret_stdin",
            conflicts_with = "hs_secret_stdin"
        )]
        jwks: Option<String>,
        /// Verify with a shared secret (base64url, as `hs_secret`) read from stdin, instead of a JWKS.
        #[arg(long)]
        hs_secret_stdin: bool,
        /// The HMAC algorithm of `--hs-secret-stdin`: HS256, HS384 or HS512.
        #[arg(long, default_value = "HS256", requires = "hs_secret_stdin")]
        hs_alg: String,
        /// Required issuer (default: the token's own, which only checks the signature).
        #[arg(long)]
        iss: Option<String>,
        /// Required audience (default: the token's own).
        #[arg(long)]
        aud: Option<String>,
        /// Required `typ` header (default at+jwt; `any` accepts any).
        #[arg(long, default_value = "at+jwt")]
        typ: String,
    },
}

pub async fn run(cmd: TokenCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Decode { jwt } => decode(jwt.trim(), json),
        TokenCmd::Verify {
            jwt,
            jwks,
            hs_secret_stdin,
            hs_alg,
            iss,
            aud,
            typ,
        } => {
            let keys = match jwks {
                Some(src) if !hs_secret_stdin => KeySet::from_jwks(&fetch_jwks(&src).await?),
                _ => hs_keys(&hs_alg)?,
            };
            verify(json, jwt.trim(), &keys, iss, aud, &typ)
        }
    }
}

fn decode(jwt: &str, json: bool) -> anyhow::Result<()> {
    let parts = tessera_jose::dangerous::decode_unverified(jwt, &tessera_jose::Limits::default())
        .context("cannot decode")?;
    let v = json!({
        "verified": false,
        "warning": "NOT VERIFIED: the signature and claims were not checked",
        "header": parts.header_json,
        "claims": parts.payload,
    });
    print(json, &v, || {
        format!(
            "NOT VERIFIED: the signature and claims were not checked\nheader: {}\nclaims: {}",
            serde_json::to_string_pretty(&parts.header_json).unwrap_or_default(),
            serde_json::to_string_pretty(&parts.payload).unwrap_or_default()
        )
    });
    Ok(())
}

/// A JWKS from an `http(s)://` URL or a file.
async fn fetch_jwks(src: &str) -> anyhow::Result<tessera_jose::Jwks> {
    if src.starts_with("http://") || src.starts_with("https://") {
        // The guard's client: rustls with the system's roots, no redirects.
        tessera_guard::fetch_jwks(src, None, std::time::Duration::from_secs(10))
            .await
            .with_context(|| format!("fetching {src}"))
    } else {
        let text = std::fs::read_to_string(src).with_context(|| format!("reading {src}"))?;
        tessera_jose::Jwks::from_json(&text).context("JWKS")
    }
}

/// The one HMAC key of `--hs-secret-stdin`.
fn hs_keys(alg: &str) -> anyhow::Result<KeySet> {
    let alg: Algorithm = alg
        .parse()
        .ok()
        .filter(|a: &Algorithm| a.family() == tessera_jose::Family::Hmac)
        .ok_or_else(|| anyhow::anyhow!("--hs-alg must be HS256, HS384 or HS512"))?;
    let text = zeroize::Zeroizing::new(super::read_stdin("secret")?);
    let secret = zeroize::Zeroizing::new(
        tessera_jose::b64::decode(text.trim().as_bytes(), "secret")
            .context("the secret on stdin is not base64url")?,
    );
    let key = VerifyingKey::from_hmac_secret(alg, &secret).context("the secret on stdin")?;
    Ok([key].into_iter().collect())
}

fn verify(
    json: bool,
    jwt: &str,
    keys: &KeySet,
    iss: Option<String>,
    aud: Option<String>,
    typ: &str,
) -> anyhow::Result<()> {
    let limits = tessera_jose::Limits::default();
    // Default iss/aud to the token's own only after the signature verifies.
    let verified = UnverifiedToken::parse(jwt, &limits)
        .and_then(|t| t.verify_with(keys))
        .context("INVALID")?;
    let claims: Value = serde_json::from_slice(verified.payload()).context("INVALID")?;
    let own_aud = match claims.get("aud") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    };
    let iss = iss
        .or_else(|| {
            claims
                .get("iss")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let aud = aud.or(own_aud).unwrap_or_default();
    let validation = Validation::new(iss, aud).with_typ((typ != "any").then_some(typ));
    let data = verified
        .validate::<Value>(&validation, SystemClock.now())
        .context("INVALID")?;
    let v = json!({"valid": true, "header": {"alg": data.header.alg().as_str(), "kid": data.header.kid(), "typ": data.header.typ()}, "claims": data.claims});
    print(json, &v, || {
        format!(
            "VALID: signature verified with key {} and claims validated\nclaims: {}",
            data.header.kid().unwrap_or("-"),
            serde_json::to_string_pretty(&data.claims).unwrap_or_default()
        )
    });
    Ok(())
}
