//! Interoperability with the `jsonwebtoken` crate (v11, aws-lc-rs backend),
//! both ways: tokens we sign verify there, tokens it signs verify here. Keys
//! cross over as PEM and as JWK.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonwebtoken as jwt;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use tessera_jose::{
    b64, decode, encode, Algorithm, Error, Family, Jwk, KeySet, ManualClock, SigningKey,
    Validation, VerifyingKey,
};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://auth.example";
const AUD: &str = "api";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    roles: Vec<String>,
}

fn claims() -> Claims {
    // jsonwebtoken checks `exp` against the real clock, so expire far ahead.
    Claims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: "user-1".into(),
        exp: 4_000_000_000,
        iat: NOW,
        roles: vec!["admin".into(), "ünïcödé".into()],
    }
}

const ALGS: [(Algorithm, jwt::Algorithm); 12] = [
    (Algorithm::HS256, jwt::Algorithm::HS256),
    (Algorithm::HS384, jwt::Algorithm::HS384),
    (Algorithm::HS512, jwt::Algorithm::HS512),
    (Algorithm::RS256, jwt::Algorithm::RS256),
    (Algorithm::RS384, jwt::Algorithm::RS384),
    (Algorithm::RS512, jwt::Algorithm::RS512),
    (Algorithm::PS256, jwt::Algorithm::PS256),
    (Algorithm::PS384, jwt::Algorithm::PS384),
    (Algorithm::PS512, jwt::Algorithm::PS512),
    (Algorithm::ES256, jwt::Algorithm::ES256),
    (Algorithm::ES384, jwt::Algorithm::ES384),
    (Algorithm::EdDSA, jwt::Algorithm::EdDSA),
];

/// One key per algorithm; the RSA algorithms share one generated key.
fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let rsa = SigningKey::generate(Algorithm::RS256)
            .unwrap()
            .to_pkcs8_der()
            .unwrap();
        ALGS.iter()
            .map(|(a, _)| match a.family() {
                Family::Rsa => SigningKey::from_der(*a, &rsa).unwrap(),
                _ => SigningKey::generate(*a).unwrap(),
            })
            .collect()
    });
    keys.iter().find(|k| k.algorithm() == alg).unwrap()
}

fn hmac_secret(key: &SigningKey) -> Vec<u8> {
    let jwk = key.to_private_jwk().unwrap();
    b64::decode(jwk.k.unwrap().as_bytes(), "k").unwrap()
}

fn jwt_validation(alg: jwt::Algorithm) -> jwt::Validation {
    let mut v = jwt::Validation::new(alg);
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

/// The ways jsonwebtoken can be given our public key (or HMAC secret).
fn jwt_decoding_keys(key: &SigningKey) -> Vec<(&'static str, jwt::DecodingKey)> {
    let vk = key.verifying_key();
    match key.algorithm().family() {
        Family::Hmac => vec![("secret", jwt::DecodingKey::from_secret(&hmac_secret(key)))],
        family => {
            let pem = vk.to_spki_pem().unwrap();
            let from_pem = match family {
                Family::Rsa => jwt::DecodingKey::from_rsa_pem(pem.as_bytes()),
                Family::Ec => jwt::DecodingKey::from_ec_pem(pem.as_bytes()),
                _ => jwt::DecodingKey::from_ed_pem(pem.as_bytes()),
            }
            .unwrap();
            let their_jwk: jwt::jwk::Jwk =
                serde_json::from_str(&vk.to_jwk().unwrap().to_json()).unwrap();
            let from_jwk = jwt::DecodingKey::from_jwk(&their_jwk).unwrap();
            vec![("SPKI PEM", from_pem), ("JWK", from_jwk)]
        }
    }
}

#[test]
fn tokens_we_sign_verify_in_jsonwebtoken() {
    for (ours, theirs) in ALGS {
        let key = key(ours);
        let token = encode(key, Some("at+jwt"), &claims()).unwrap();
        for (form, dk) in jwt_decoding_keys(key) {
            let data = jwt::decode::<Claims>(&token, &dk, &jwt_validation(theirs))
                .unwrap_or_else(|e| panic!("{ours} via {form}: {e:?}"));
            assert_eq!(data.claims, claims(), "{ours} via {form}");
            assert_eq!(data.header.alg, theirs);
            assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(data.header.kid.as_deref(), Some(key.kid()));

            // Control: jsonwebtoken does refuse our token once it is tampered with.
            let (h, rest) = token.split_once('.').unwrap();
            let (_, s) = rest.split_once('.').unwrap();
            let mut evil = claims();
            evil.sub = "admin".into();
            let p = b64::encode(serde_json::to_string(&evil).unwrap().as_bytes());
            let forged = format!("{h}.{p}.{s}");
            assert!(
                jwt::decode::<Claims>(&forged, &dk, &jwt_validation(theirs)).is_err(),
                "{ours} via {form}: jsonwebtoken accepted a forged payload"
            );
        }
    }
}

/// jsonwebtoken's encoding key for our private key (PKCS#8 PEM), and our
/// verifying key for it imported from jsonwebtoken's own JWK of that key.
fn jwt_signer(key: &SigningKey, theirs: jwt::Algorithm) -> (jwt::EncodingKey, VerifyingKey) {
    let alg = key.algorithm();
    if alg.family() == Family::Hmac {
        let secret = hmac_secret(key);
        return (
            jwt::EncodingKey::from_secret(&secret),
            VerifyingKey::from_hmac_secret(alg, &secret).unwrap(),
        );
    }
    let pem = key.to_pkcs8_pem().unwrap();
    let ek = match alg.family() {
        Family::Rsa => jwt::EncodingKey::from_rsa_pem(pem.as_bytes()),
        Family::Ec => jwt::EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => jwt::EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .unwrap();
    let their_jwk = jwt::jwk::Jwk::from_encoding_key(&ek, theirs).unwrap();
    let json = serde_json::to_string(&their_jwk).unwrap();
    let jwk = Jwk::from_json(&json).unwrap();
    let vk = VerifyingKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(vk.algorithm(), alg, "alg taken from their JWK");
    // RFC 7638 thumbprints agree across the two implementations.
    assert_eq!(
        vk.thumbprint().unwrap(),
        their_jwk
            .thumbprint(jwt::jwk::ThumbprintHash::SHA256)
            .unwrap(),
        "{alg} thumbprint"
    );
    assert_eq!(vk.thumbprint().unwrap(), key.kid());
    (ek, vk)
}

#[test]
fn tokens_jsonwebtoken_signs_verify_here() {
    let clock = ManualClock::new(NOW);
    for (ours, theirs) in ALGS {
        let key = key(ours);
        let (ek, vk) = jwt_signer(key, theirs);
        let kid = "their-kid";
        let keys: KeySet = [vk.with_kid(kid)].into_iter().collect();

        let mut header = jwt::Header::new(theirs);
        header.typ = Some("at+jwt".into());
        header.kid = Some(kid.into());
        let token = jwt::encode(&header, &claims(), &ek).unwrap();
        let data = decode::<Claims>(&token, &keys, &Validation::new(ISS, AUD), &clock)
            .unwrap_or_else(|e| panic!("{ours}: {e}"));
        assert_eq!(data.claims, claims(), "{ours}");
        assert_eq!(data.header.alg(), ours);
        assert_eq!(data.header.kid(), Some(kid));
        assert_eq!(data.registered.sub.as_deref(), Some("user-1"));

        // jsonwebtoken's default header says `typ: JWT`: refused as an access
        // token, accepted when that typ is what the caller asks for.
        let mut plain = jwt::Header::new(theirs);
        plain.kid = Some(kid.into());
        let token = jwt::encode(&plain, &claims(), &ek).unwrap();
        assert_eq!(
            decode::<Claims>(&token, &keys, &Validation::new(ISS, AUD), &clock).unwrap_err(),
            Error::InvalidType,
            "{ours}"
        );
        let v = Validation::new(ISS, AUD).with_typ(Some("JWT"));
        assert!(
            decode::<Claims>(&token, &keys, &v, &clock).is_ok(),
            "{ours}"
        );

        // Verification keys from our own PEM export work on their tokens too.
        if ours.family() != Family::Hmac {
            let pem = key.verifying_key().to_spki_pem().unwrap();
            let vk = VerifyingKey::from_pem(ours, &pem).unwrap().with_kid(kid);
            let keys: KeySet = [vk].into_iter().collect();
            assert!(
                decode::<Claims>(&token, &keys, &v, &clock).is_ok(),
                "{ours} via PEM"
            );
        }
    }
}

#[test]
fn jsonwebtoken_tokens_signed_by_another_key_are_refused() {
    // Their token, our key set holding a different key under the same kid.
    let clock = ManualClock::new(NOW);
    for (ours, theirs) in [
        (Algorithm::ES256, jwt::Algorithm::ES256),
        (Algorithm::EdDSA, jwt::Algorithm::EdDSA),
        (Algorithm::HS256, jwt::Algorithm::HS256),
    ] {
        let (ek, _) = jwt_signer(key(ours), theirs);
        let other = SigningKey::generate(ours).unwrap();
        let keys: KeySet = [other.verifying_key().clone().with_kid("k")]
            .into_iter()
            .collect();
        let mut header = jwt::Header::new(theirs);
        header.typ = Some("at+jwt".into());
        header.kid = Some("k".into());
        let token = jwt::encode(&header, &claims(), &ek).unwrap();
        assert_eq!(
            decode::<Claims>(&token, &keys, &Validation::new(ISS, AUD), &clock).unwrap_err(),
            Error::InvalidSignature,
            "{ours}"
        );
    }
}
