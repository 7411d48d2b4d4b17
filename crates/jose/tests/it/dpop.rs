//! DPoP proofs (RFC 9449): a good proof passes for each algorithm, and each
//! attack the RFC names is refused with its own reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use tessera_jose::dpop::{self, Claims, Expect};
use tessera_jose::{Algorithm, Error, Jwk, SigningKey};

const URL: &str = "https://auth.example/oauth2/token";
const NOW: i64 = 1_700_000_000;

fn expect<'a>(token: Option<&'a str>) -> Expect<'a> {
    Expect {
        method: "POST",
        url: URL,
        access_token: token,
        now: NOW,
        max_age: 60,
        leeway: 5,
    }
}

fn claims(jti: &str) -> Claims<'_> {
    Claims {
        jti,
        htm: "POST",
        htu: URL,
        iat: NOW,
        ath: None,
        nonce: None,
    }
}

fn public_jwk(key: &SigningKey) -> Value {
    let mut jwk = key.verifying_key().to_jwk().unwrap();
    jwk.kid = None;
    serde_json::to_value(jwk).unwrap()
}

#[test]
fn good_proofs_pass_for_every_allowed_algorithm() {
    for alg in dpop::ALGORITHMS {
        let key = SigningKey::generate(alg).unwrap();
        let proof = dpop::sign(&key, &claims("j1")).unwrap();
        let p = dpop::verify(&proof, &expect(None)).unwrap();
        assert_eq!(p.jkt, key.verifying_key().thumbprint().unwrap());
        assert_eq!(p.jti, "j1");
        assert_eq!(p.alg, alg);
    }
}

#[test]
fn htu_is_compared_normalised_and_htm_exactly() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut c = claims("j");
    c.htu = "HTTPS://AUTH.example:443/oauth2/token";
    assert!(dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)).is_ok());
    c.htu = "https://auth.example/oauth2/other";
    assert_eq!(
        dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)),
        Err(Error::InvalidClaim("htu"))
    );
    c.htu = URL;
    c.htm = "GET";
    assert_eq!(
        dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)),
        Err(Error::InvalidClaim("htm"))
    );
    c.htm = "post";
    assert!(dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)).is_err());
}

#[test]
fn iat_window() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut c = claims("j");
    c.iat = NOW - 61;
    assert_eq!(
        dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)),
        Err(Error::TooOld)
    );
    c.iat = NOW + 6;
    assert_eq!(
        dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)),
        Err(Error::IssuedInFuture)
    );
    c.iat = NOW - 60;
    assert!(dpop::verify(&dpop::sign(&key, &c).unwrap(), &expect(None)).is_ok());
}

#[test]
fn ath_is_required_with_an_access_token_and_must_match() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut c = claims("j");
    let proof = dpop::sign(&key, &c).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(Some("tok"))),
        Err(Error::MissingClaim("ath"))
    );
    c.ath = Some(dpop::ath("other"));
    let proof = dpop::sign(&key, &c).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(Some("tok"))),
        Err(Error::InvalidClaim("ath"))
    );
    c.ath = Some(dpop::ath("tok"));
    let proof = dpop::sign(&key, &c).unwrap();
    assert!(dpop::verify(&proof, &expect(Some("tok"))).is_ok());
}

#[test]
fn a_proof_signed_by_another_key_than_its_jwk_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(&key)});
    let proof = dpop::sign_raw(&other, &header, &claims("j")).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::InvalidSignature)
    );
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let c = serde_json::to_vec(&claims("j")).unwrap();
    let enc = |v: &Value| tessera_jose::b64::encode(&serde_json::to_vec(v).unwrap());
    let none = format!(
        "{}.{}.",
        enc(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": public_jwk(&key)})),
        tessera_jose::b64::encode(&c)
    );
    assert_eq!(
        dpop::verify(&none, &expect(None)),
        Err(Error::UnsupportedAlgorithm)
    );
    let hs = SigningKey::generate(Algorithm::HS256).unwrap();
    let oct = serde_json::to_value(hs.to_private_jwk().unwrap()).unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": oct});
    let proof = dpop::sign_raw(&hs, &header, &claims("j")).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::UnsupportedAlgorithm)
    );
    // An HS256 header over an asymmetric jwk: still refused, by alg.
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": public_jwk(&key)});
    let proof = dpop::sign_raw(&hs, &header, &claims("j")).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::UnsupportedAlgorithm)
    );
}

#[test]
fn a_private_key_inside_jwk_is_refused() {
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let mut jwk = serde_json::to_value(key.to_private_jwk().unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("kid");
        let header = json!({"typ": "dpop+jwt", "alg": alg.as_str(), "jwk": jwk});
        let proof = dpop::sign_raw(&key, &header, &claims("j")).unwrap();
        assert!(matches!(
            dpop::verify(&proof, &expect(None)),
            Err(Error::InvalidKey(_))
        ));
    }
}

#[test]
fn the_header_alg_must_fit_the_jwk() {
    // An RSA key under an ES256 header: the key owns its algorithm.
    let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(&rsa)});
    let proof = dpop::sign_raw(&rsa, &header, &claims("j")).unwrap();
    assert!(dpop::verify(&proof, &expect(None)).is_err());
    // RS256 key claiming PS256 via its own alg member.
    let mut jwk = public_jwk(&rsa);
    jwk["alg"] = json!("RS256");
    let header = json!({"typ": "dpop+jwt", "alg": "PS256", "jwk": jwk});
    let proof = dpop::sign_raw(&rsa, &header, &claims("j")).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::AlgorithmMismatch)
    );
}

#[test]
fn typ_jwk_and_claims_are_required() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let header = json!({"typ": "JWT", "alg": "ES256", "jwk": public_jwk(&key)});
    let proof = dpop::sign_raw(&key, &header, &claims("j")).unwrap();
    assert_eq!(dpop::verify(&proof, &expect(None)), Err(Error::InvalidType));
    let header = json!({"typ": "dpop+jwt", "alg": "ES256"});
    let proof = dpop::sign_raw(&key, &header, &claims("j")).unwrap();
    assert!(matches!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::InvalidKey(_))
    ));
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(&key)});
    for missing in ["jti", "htm", "htu", "iat"] {
        let mut c = serde_json::to_value(claims("j")).unwrap();
        c.as_object_mut().unwrap().remove(missing);
        let proof = dpop::sign_raw(&key, &header, &c).unwrap();
        assert!(matches!(
            dpop::verify(&proof, &expect(None)),
            Err(Error::MissingClaim(m)) if m == missing
        ));
    }
    let proof = dpop::sign_raw(&key, &header, &claims("")).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::InvalidClaim("jti"))
    );
    // A crit header is refused as for any JWS.
    let header =
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(&key), "crit": ["x"], "x": 1});
    let proof = dpop::sign_raw(&key, &header, &claims("j")).unwrap();
    assert_eq!(
        dpop::verify(&proof, &expect(None)),
        Err(Error::UnsupportedCritical)
    );
}

#[test]
fn rfc7638_thumbprint_of_the_rfc_example() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/rfc7638_section3_1.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let jwk = Jwk::from_json(&v["jwk"].to_string()).unwrap();
    assert_eq!(
        dpop::thumbprint(&jwk).unwrap(),
        v["thumbprint"].as_str().unwrap()
    );
}
