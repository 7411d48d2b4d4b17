//! Encrypted ID tokens (OIDC Registration §2): a client registers
//! `id_token_encrypted_response_alg` (and `_enc`, default `A128CBC-HS256`)
//! with its public keys as an inline `jwks`; its ID tokens are then nested
//! JWTs, signed then encrypted to that key (`cty: "JWT"`). Only asymmetric
//! key management is offered: keys derived from a client secret are not.

use tessera_jose::jwe::{ContentAlgorithm, EncryptionKey, KeyAlgorithm};
use tessera_jose::Jwks;

/// The key management algorithms a client may register.
pub const ALGS: [KeyAlgorithm; 4] = [
    KeyAlgorithm::RsaOaep256,
    KeyAlgorithm::EcdhEs,
    KeyAlgorithm::EcdhEsA128Kw,
    KeyAlgorithm::EcdhEsA256Kw,
];

/// The `enc` used when a client names an `alg` but no `enc`.
pub const DEFAULT_ENC: ContentAlgorithm = ContentAlgorithm::A128CbcHs256;

/// The largest `jwks` accepted, in bytes.
const MAX_JWKS: usize = 16 * 1024;

/// Why a registration's encryption settings are refused: the field and a
/// message for the operator.
pub(crate) type Refusal = (&'static str, String);

const ALG_FIELD: &str = "id_token_encrypted_response_alg";

/// Parses `alg`, refusing the symmetric algorithms.
pub(crate) fn parse_alg(alg: &str) -> Result<KeyAlgorithm, Refusal> {
    match alg.parse::<KeyAlgorithm>() {
        Ok(a) if ALGS.contains(&a) => Ok(a),
        Ok(_) => Err((
            ALG_FIELD,
            format!(
                "{alg} uses a shared key; keys derived from the client secret are not \
                 supported: use RSA-OAEP-256 or ECDH-ES(+A128KW/+A256KW) with a public key"
            ),
        )),
        Err(_) => Err((ALG_FIELD, format!("must be one of {}", names()))),
    }
}

fn names() -> String {
    ALGS.iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `enc` (`None`: [`DEFAULT_ENC`]).
pub(crate) fn parse_enc(enc: Option<&str>) -> Result<ContentAlgorithm, Refusal> {
    match enc {
        None => Ok(DEFAULT_ENC),
        Some(e) => e.parse().map_err(|_| {
            (
                "id_token_encrypted_response_enc",
                "must be A128GCM, A256GCM, A128CBC-HS256 or A256CBC-HS512".to_owned(),
            )
        }),
    }
}

/// The one public key of `jwks` usable with `alg`: `use` absent or `enc`,
/// a key type that fits `alg`, and an `alg` member (if any) equal to it.
/// Refuses a JWKS with private or secret members, and none or several
/// usable keys.
pub(crate) fn key_for(alg: KeyAlgorithm, jwks: &str) -> Result<EncryptionKey, Refusal> {
    let bad = |m: &str| ("jwks", m.to_owned());
    if jwks.len() > MAX_JWKS {
        return Err(bad("at most 16 KiB"));
    }
    let set = Jwks::from_json(jwks).map_err(|e| ("jwks", format!("not a JWK Set: {e}")))?;
    if set.keys.iter().any(|k| k.is_private()) {
        return Err(bad(
            "holds private or secret key material (d or k): register only public keys",
        ));
    }
    let kty_fits = |kty: &str| match alg {
        KeyAlgorithm::RsaOaep256 => kty == "RSA",
        _ => kty == "EC" || kty == "OKP",
    };
    let mut usable = set.keys.iter().filter(|k| {
        matches!(k.key_use.as_deref(), None | Some("enc"))
            && kty_fits(k.kty.as_str())
            && k.alg.as_deref().is_none_or(|a| a == alg.as_str())
    });
    let jwk = match (usable.next(), usable.next()) {
        (Some(k), None) => k,
        (None, _) => {
            return Err((
                "jwks",
                format!("has no public encryption key for {}", alg.as_str()),
            ))
        }
        _ => {
            return Err((
                "jwks",
                format!("has several keys for {}: keep exactly one", alg.as_str()),
            ))
        }
    };
    EncryptionKey::from_jwk(jwk, Some(alg)).map_err(|e| ("jwks", format!("unusable key: {e}")))
}

/// The key and `enc` of a stored client, if its ID tokens are encrypted.
pub(crate) fn for_client(
    client: &tessera_store::Client,
) -> Result<Option<(EncryptionKey, ContentAlgorithm)>, Refusal> {
    let Some(alg) = client.id_token_enc_alg.as_deref() else {
        return Ok(None);
    };
    let alg = parse_alg(alg)?;
    let enc = parse_enc(client.id_token_enc_enc.as_deref())?;
    let key = key_for(alg, client.jwks.as_deref().unwrap_or(""))?;
    Ok(Some((key, enc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_jose::jwe::DecryptionKey;

    fn jwks_of(keys: &[String]) -> String {
        format!(r#"{{"keys":[{}]}}"#, keys.join(","))
    }

    fn public(key: &DecryptionKey) -> String {
        key.encryption_key().to_jwk().unwrap().to_json()
    }

    #[test]
    fn only_asymmetric_algs_and_known_encs() {
        assert_eq!(parse_alg("RSA-OAEP-256").unwrap(), KeyAlgorithm::RsaOaep256);
        for a in ["A128KW", "A256KW", "dir"] {
            let (field, m) = parse_alg(a).unwrap_err();
            assert_eq!(field, ALG_FIELD);
            assert!(m.contains("shared key"), "{m}");
        }
        assert!(parse_alg("RSA1_5").is_err());
        assert_eq!(parse_enc(None).unwrap(), ContentAlgorithm::A128CbcHs256);
        assert_eq!(
            parse_enc(Some("A256GCM")).unwrap(),
            ContentAlgorithm::A256Gcm
        );
        assert!(parse_enc(Some("A192GCM")).is_err());
    }

    #[test]
    fn the_jwks_needs_exactly_one_fitting_public_key() {
        let ec = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
        let ec2 = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
        let one = jwks_of(&[public(&ec)]);
        assert!(key_for(KeyAlgorithm::EcdhEs, &one).is_ok());
        // No RSA key for RSA-OAEP-256.
        assert!(key_for(KeyAlgorithm::RsaOaep256, &one).is_err());
        // Two fitting keys are ambiguous.
        let two = jwks_of(&[public(&ec), public(&ec2)]);
        assert!(key_for(KeyAlgorithm::EcdhEs, &two).is_err());
        // A signing key does not count.
        let mut sig: serde_json::Value = serde_json::from_str(&public(&ec2)).unwrap();
        sig["use"] = "sig".into();
        let sig = sig.to_string();
        assert!(key_for(KeyAlgorithm::EcdhEs, &jwks_of(&[public(&ec), sig])).is_ok());
        // Private members are refused outright.
        let private = jwks_of(&[ec.to_private_jwk().unwrap().to_json()]);
        let (field, m) = key_for(KeyAlgorithm::EcdhEs, &private).unwrap_err();
        assert_eq!(field, "jwks");
        assert!(m.contains("private"), "{m}");
        assert!(key_for(KeyAlgorithm::EcdhEs, "[]").is_err());
    }
}
