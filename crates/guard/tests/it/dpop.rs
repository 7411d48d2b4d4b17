//! DPoP-bound tokens (RFC 9449) at the guard: tokens bound at the real
//! auth server, proofs checked by the guarded backend, and each attack the
//! issue names refused with a `WWW-Authenticate: DPoP` challenge.

use crate::support::{Auth, Backend, PASSWORD};
use serde_json::{json, Value};
use tessera_guard::Guard;
use tessera_jose::dpop::{self, Claims};
use tessera_jose::{Algorithm, Clock as _, SigningKey};

/// The backend's public URL (it listens elsewhere, as behind a proxy).
const API: &str = "https://api.example.test";

fn proof(key: &SigningKey, iat: i64, htm: &str, htu: &str, token: Option<&str>) -> String {
    let jti = tessera_jose::b64::encode(&tessera_jose::crypto::random_bytes(12).unwrap());
    dpop::sign(
        key,
        &Claims {
            jti: &jti,
            htm,
            htu,
            iat,
            ath: token.map(dpop::ath),
            nonce: None,
        },
    )
    .unwrap()
}

/// Registers a user and logs in with a proof from `key`: a bound token.
async fn bound_token(auth: &Auth, email: &str, key: &SigningKey) -> String {
    auth.user(email).await;
    let p = proof(
        key,
        auth.clock.now(),
        "POST",
        &auth.url("/v1/auth/login"),
        None,
    );
    let r = auth
        .http
        .post(auth.url("/v1/auth/login"))
        .header("DPoP", p)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "DPoP");
    v["access_token"].as_str().unwrap().to_owned()
}

async fn dpop_guard(auth: &Auth, required: bool) -> Guard {
    Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .dpop_public_url(API)
        .require_dpop(required)
        .build()
        .await
        .unwrap()
}

/// `GET path` with `Authorization: <scheme> <token>` and an optional proof.
async fn get(
    b: &Backend,
    path: &str,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> (u16, Vec<String>, Value) {
    let mut req = b
        .http
        .get(format!("http://{}{path}", b.addr))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let www = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (status, www, r.json().await.unwrap_or(Value::Null))
}

#[track_caller]
fn assert_dpop_401(got: &(u16, Vec<String>, Value), code: &str, what: &str) {
    assert_eq!(got.0, 401, "{what}: {}", got.2);
    assert_eq!(got.2["error"], code, "{what}: {}", got.2);
    let www = got.1.join(" | ");
    assert!(www.starts_with("DPoP "), "{what}: {www}");
    assert!(www.contains(&format!("error=\"{code}\"")), "{what}: {www}");
    assert!(
        www.contains("algs=\"ES256 EdDSA RS256 PS256\""),
        "{what}: {www}"
    );
}

#[tokio::test]
async fn a_bound_token_passes_with_its_proof_and_every_attack_is_refused() {
    let auth = Auth::start().await;
    let guard = dpop_guard(&auth, false).await;
    let backend = Backend::start(&guard).await;
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let access = bound_token(&auth, "ada@example.com", &key).await;
    let now = auth.clock.now();
    let hello = format!("{API}/api/hello");
    let good = proof(&key, now, "GET", &hello, Some(&access));
    let got = get(&backend, "/api/hello", "DPoP", &access, Some(&good)).await;
    assert_eq!(got.0, 200, "{}", got.2);
    assert_eq!(
        got.2["cnf"]["jkt"],
        key.verifying_key().thumbprint().unwrap()
    );
    // The same proof again.
    let got = get(&backend, "/api/hello", "DPoP", &access, Some(&good)).await;
    assert_dpop_401(&got, "invalid_dpop_proof", "a replayed proof");
    // The bound token as a Bearer token.
    let got = get(&backend, "/api/hello", "Bearer", &access, None).await;
    assert_dpop_401(&got, "invalid_token", "a bound token sent as Bearer");
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let hs = SigningKey::generate(Algorithm::HS256).unwrap();
    let claims =
        json!({"jti": "z", "htm": "GET", "htu": hello, "iat": now, "ath": dpop::ath(&access)});
    let mut public = serde_json::to_value(key.verifying_key().to_jwk().unwrap()).unwrap();
    public.as_object_mut().unwrap().remove("kid");
    let enc = |v: &Value| tessera_jose::b64::encode(&serde_json::to_vec(v).unwrap());
    let cases = [
        ("no proof", None),
        ("another method", Some(proof(&key, now, "POST", &hello, Some(&access)))),
        ("another URL", Some(proof(&key, now, "GET", &format!("{API}/api/admin"), Some(&access)))),
        (
            "the backend's Host instead of its public URL",
            Some(proof(&key, now, "GET", &format!("http://{}/api/hello", backend.addr), Some(&access))),
        ),
        ("another key", Some(proof(&other, now, "GET", &hello, Some(&access)))),
        ("no ath", Some(proof(&key, now, "GET", &hello, None))),
        ("a wrong ath", Some(proof(&key, now, "GET", &hello, Some("x.y.z")))),
        ("an old iat", Some(proof(&key, now - 61, "GET", &hello, Some(&access)))),
        ("an iat in the future", Some(proof(&key, now + 31, "GET", &hello, Some(&access)))),
        (
            "alg none",
            Some(format!("{}.{}.", enc(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": public})), enc(&claims))),
        ),
        (
            "HS256",
            Some(
                dpop::sign_raw(
                    &hs,
                    &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": serde_json::to_value(hs.to_private_jwk().unwrap()).unwrap()}),
                    &claims,
                )
                .unwrap(),
            ),
        ),
        (
            "a private key in jwk",
            Some(
                dpop::sign_raw(
                    &key,
                    &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": serde_json::to_value(key.to_private_jwk().unwrap()).unwrap()}),
                    &claims,
                )
                .unwrap(),
            ),
        ),
    ];
    for (what, p) in cases {
        let got = get(&backend, "/api/hello", "DPoP", &access, p.as_deref()).await;
        assert_dpop_401(&got, "invalid_dpop_proof", what);
    }
    // Still accepted with a fresh, good proof.
    let good = proof(&key, auth.clock.now(), "GET", &hello, Some(&access));
    let got = get(&backend, "/api/hello", "DPoP", &access, Some(&good)).await;
    assert_eq!(got.0, 200, "{}", got.2);
}

#[tokio::test]
async fn unbound_tokens_work_unless_dpop_is_required() {
    let auth = Auth::start().await;
    let (access, _) = auth.user("ada@example.com").await;
    let guard = dpop_guard(&auth, false).await;
    let backend = Backend::start(&guard).await;
    let got = get(&backend, "/api/hello", "Bearer", &access, None).await;
    assert_eq!(got.0, 200, "{}", got.2);
    // An unbound token under the DPoP scheme.
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let p = proof(
        &key,
        auth.clock.now(),
        "GET",
        &format!("{API}/api/hello"),
        Some(&access),
    );
    let got = get(&backend, "/api/hello", "DPoP", &access, Some(&p)).await;
    assert_dpop_401(&got, "invalid_token", "an unbound token as DPoP");
    // No credentials: both schemes are offered.
    let r = backend
        .http
        .get(format!("http://{}/api/hello", backend.addr))
        .send()
        .await
        .unwrap();
    let www: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(www.len(), 2, "{www:?}");
    assert!(www[1].to_str().unwrap().starts_with("DPoP "), "{www:?}");
    // Required: the Bearer token is refused.
    let strict = Backend::start(&dpop_guard(&auth, true).await).await;
    let got = get(&strict, "/api/hello", "Bearer", &access, None).await;
    assert_dpop_401(
        &got,
        "invalid_token",
        "an unbound token where DPoP is required",
    );
}

#[tokio::test]
async fn a_guard_without_a_public_url_refuses_bound_tokens() {
    let auth = Auth::start().await;
    let guard = Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .build()
        .await
        .unwrap();
    let backend = Backend::start(&guard).await;
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let access = bound_token(&auth, "ada@example.com", &key).await;
    let p = proof(
        &key,
        auth.clock.now(),
        "GET",
        &format!("http://{}/api/hello", backend.addr),
        Some(&access),
    );
    let got = get(&backend, "/api/hello", "DPoP", &access, Some(&p)).await;
    assert_dpop_401(&got, "invalid_token", "no public URL configured");
    let got = get(&backend, "/api/hello", "Bearer", &access, None).await;
    assert_dpop_401(&got, "invalid_token", "a bound token as Bearer");
    assert!(
        Guard::builder(&auth.issuer, "tessera")
            .require_dpop(true)
            .build()
            .await
            .is_err(),
        "require_dpop needs a public URL"
    );
}
