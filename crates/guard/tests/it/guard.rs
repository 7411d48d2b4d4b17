//! The guard's promises, each against a real auth server and backend.

use crate::support::{Auth, Backend, CLIENT, CLIENT_SECRET, T0};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_guard::{CacheConfig, Error, Guard};
use tessera_jose::{encode, Algorithm, SigningKey};
use tokio::time::Instant;

/// A token signed by a key the auth server never had, under `kid` (or the
/// key's thumbprint), with claims the guard would otherwise accept.
fn foreign_token(auth: &Auth, kid: Option<&str>) -> String {
    let mut key = SigningKey::generate(Algorithm::ES256).unwrap();
    if let Some(kid) = kid {
        key = key.with_kid(kid);
    }
    let claims = json!({"iss": auth.issuer, "aud": "tessera", "sub": "x", "exp": T0 + 60});
    encode(&key, Some("at+jwt"), &claims).unwrap()
}

/// The `kid` of a token, read without verification.
fn kid_of(token: &str) -> String {
    tessera_jose::dangerous::decode_unverified(token, &Default::default())
        .unwrap()
        .header
        .kid()
        .unwrap()
        .to_owned()
}

/// A guard that follows the revocation feed.
async fn following_guard(auth: &Auth) -> Guard {
    Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .follow_revocations(CLIENT, CLIENT_SECRET)
        .build()
        .await
        .unwrap()
}

async fn guard_for(auth: &Auth) -> Guard {
    Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .build()
        .await
        .unwrap()
}

/// Polls the backend with `access` until it answers 401 "revoked"; fails
/// if it is still accepted after `limit`.
async fn refused_as_revoked_within(backend: &Backend, access: &str, limit: Duration, after: &str) {
    let started = Instant::now();
    loop {
        let (status, _, body) = backend.get("/api/hello", Some(access)).await;
        if status == 401 {
            let why = body["error_description"].as_str().unwrap_or_default();
            assert!(why.contains("revoked"), "{body}");
            return;
        }
        assert!(
            started.elapsed() < limit,
            "still accepted {:?} after the {after}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_valid_token_passes_and_its_claims_reach_the_handler() {
    let auth = Auth::start().await;
    let guard = guard_for(&auth).await;
    let backend = Backend::start(&guard).await;
    let (access, _) = auth.user("ada@example.com").await;
    let (status, _, body) = backend.get("/api/hello", Some(&access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["iss"], json!(auth.issuer));
    assert_eq!(body["aud"], json!("tessera"));
    assert!(body["sid"].is_string());
}

#[tokio::test]
async fn missing_malformed_forged_and_wrong_audience_tokens_are_refused_with_rfc_6750_challenges() {
    let auth = Auth::start().await;
    let guard = guard_for(&auth).await;
    let backend = Backend::start(&guard).await;
    let (access, _) = auth.user("ada@example.com").await;

    // No credentials: 401 and a bare challenge (RFC 6750 §3.1).
    let (status, www, body) = backend.get("/api/hello", None).await;
    assert_eq!(status, 401);
    assert_eq!(www, "Bearer realm=\"tessera\"");
    assert_eq!(body["error"], "unauthorized");

    // Malformed Authorization header: 400 invalid_request.
    let r = backend
        .http
        .get(format!("http://{}/api/hello", backend.addr))
        .header("authorization", "Bearer a b c")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_request\""));

    // Tampered payload.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let mut payload = tessera_jose::b64::decode(parts[1].as_bytes(), "p").unwrap();
    let text = String::from_utf8(payload.clone())
        .unwrap()
        .replace("\"roles\":[]", "\"roles\":[\"admin\"]");
    assert_ne!(
        text.as_bytes(),
        &payload[..],
        "the payload has a roles claim to forge"
    );
    payload = text.into_bytes();
    parts[1] = tessera_jose::b64::encode(&payload);
    let forged = parts.join(".");
    let (status, www, body) = backend.get("/api/admin", Some(&forged)).await;
    assert_eq!(status, 401, "{body}");
    assert!(www.contains("error=\"invalid_token\""), "{www}");

    // An attacker's key under the server's kid.
    let kid = kid_of(&access);
    let evil = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid(kid);
    let claims = tessera_jose::dangerous::decode_unverified(&access, &Default::default())
        .unwrap()
        .payload;
    let forged = encode(&evil, Some("at+jwt"), &claims).unwrap();
    let (status, _, body) = backend.get("/api/hello", Some(&forged)).await;
    assert_eq!(status, 401);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{body}"
    );

    // A guard for another audience refuses the same genuine token.
    let billing = Guard::builder(&auth.issuer, "billing")
        .clock(auth.clock.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(
        billing.verify(&access).await.unwrap_err(),
        Error::InvalidToken(tessera_jose::Error::InvalidAudience)
    );
    // And one for another issuer.
    let other = Guard::builder("https://elsewhere.example", "tessera")
        .jwks_url(auth.url("/.well-known/jwks.json"))
        .clock(auth.clock.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(
        other.verify(&access).await.unwrap_err(),
        Error::InvalidToken(tessera_jose::Error::InvalidIssuer)
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_even_when_cached() {
    let auth = Auth::start().await;
    let guard = guard_for(&auth).await;
    let backend = Backend::start(&guard).await;
    let (access, _) = auth.user("ada@example.com").await;
    assert_eq!(backend.get("/api/hello", Some(&access)).await.0, 200);
    assert_eq!(backend.get("/api/hello", Some(&access)).await.0, 200);
    assert_eq!(guard.stats().cache_hits, 1, "{:?}", guard.stats());
    // 15 minutes of lifetime plus the 30 s leeway, then one second more.
    auth.advance(15 * 60 + 29);
    assert_eq!(
        backend.get("/api/hello", Some(&access)).await.0,
        200,
        "inside the leeway"
    );
    auth.advance(1);
    let (status, www, body) = backend.get("/api/hello", Some(&access)).await;
    assert_eq!(status, 401, "{body}");
    assert!(www.contains("error=\"invalid_token\""), "{www}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn roles_and_scopes_are_enforced_with_403() {
    let auth = Auth::start().await;
    let guard = guard_for(&auth).await;
    let backend = Backend::start(&guard).await;
    let (user, _) = auth.user("user@example.com").await;
    let (status, www, body) = backend.get("/api/admin", Some(&user)).await;
    assert_eq!(status, 403, "{body}");
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert_eq!(body["error"], "insufficient_scope");
    let admin = auth.admin("root@example.com").await;
    assert_eq!(backend.get("/api/admin", Some(&admin)).await.0, 200);

    // Scopes: a client-credentials token with and without the scope.
    let scoped = auth.client_token(Some("reports:read")).await;
    assert_eq!(backend.get("/api/reports", Some(&scoped)).await.0, 200);
    let (status, www, _) = backend.get("/api/reports", Some(&user)).await;
    assert_eq!(status, 403);
    assert!(www.ends_with("scope=\"reports:read\""), "{www}");
}

#[tokio::test]
async fn the_verified_token_cache_skips_repeat_verification_and_can_be_disabled() {
    let auth = Auth::start().await;
    let (access, _) = auth.user("ada@example.com").await;
    let guard = guard_for(&auth).await;
    for _ in 0..5 {
        guard.verify(&access).await.unwrap();
    }
    let s = guard.stats();
    assert_eq!(
        (s.cache_misses, s.cache_hits, s.cache_len),
        (1, 4, 1),
        "{s:?}"
    );

    let uncached = Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .cache_capacity(0)
        .build()
        .await
        .unwrap();
    for _ in 0..3 {
        uncached.verify(&access).await.unwrap();
    }
    assert_eq!(uncached.stats().cache_hits, 0);

    // Bounded: a tiny cache never holds more than its capacity.
    let small = Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .cache_capacity(16)
        .build()
        .await
        .unwrap();
    for i in 0..40 {
        let (t, _) = auth.user(&format!("u{i}@example.com")).await;
        small.verify(&t).await.unwrap();
    }
    assert!(small.stats().cache_len <= 16, "{:?}", small.stats());
}

#[tokio::test]
async fn key_rotation_mid_traffic_fails_no_request() {
    let auth = Auth::start().await;
    let guard = Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .jwks_cache(CacheConfig {
            unknown_kid_interval: Duration::from_millis(200),
            ..CacheConfig::default()
        })
        .build()
        .await
        .unwrap();
    let backend = Arc::new(Backend::start(&guard).await);
    auth.user("ada@example.com").await;
    let token = Arc::new(tokio::sync::RwLock::new(
        auth.login("ada@example.com").await.0,
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut traffic = Vec::new();
    for _ in 0..4 {
        let (backend, token, stop, ok) = (backend.clone(), token.clone(), stop.clone(), ok.clone());
        traffic.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = token.read().await.clone();
                let (status, _, body) = backend.get("/api/hello", Some(&t)).await;
                if status == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.push((status, body));
                }
            }
            failures
        }));
    }
    let ctx = Default::default();
    let mut kids = std::collections::HashSet::new();
    for round in 0..4 {
        // Alternate a scheduled rotation (published ahead of use) and an
        // immediate one (the new kid arrives before any refresh).
        let immediate = round % 2 == 1;
        auth.server()
            .state()
            .app
            .tokens
            .rotate_keys(immediate, &ctx)
            .await
            .unwrap();
        if !immediate {
            auth.advance(301);
        }
        let fresh = auth.login("ada@example.com").await.0;
        let kid = kid_of(&fresh);
        kids.insert(kid);
        *token.write().await = fresh;
        tokio::time::sleep(Duration::from_millis(400)).await;
        // The guard's unknown-kid interval runs on its clock: let it pass
        // before the next rotation, as the 400 ms of traffic would have.
        auth.clock.advance(Duration::from_millis(400));
    }
    stop.store(true, Ordering::Relaxed);
    for t in traffic {
        let failures = t.await.unwrap();
        assert!(
            failures.is_empty(),
            "requests failed during rotation: {failures:?}"
        );
    }
    assert_eq!(kids.len(), 4, "every round signed with a new key");
    assert!(ok.load(Ordering::Relaxed) > 20, "traffic flowed");
}

#[tokio::test]
async fn cached_keys_keep_serving_while_the_auth_server_is_down_then_expire() {
    let mut auth = Auth::start().await;
    let (a, _) = auth.user("a@example.com").await;
    let (b, _) = auth.user("b@example.com").await;
    let guard = Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .cache_capacity(0) // every request verifies the signature
        .jwks_cache(CacheConfig {
            max_stale: Duration::from_secs(3),
            unknown_kid_interval: Duration::from_millis(10),
            ..CacheConfig::default()
        })
        .build()
        .await
        .unwrap();
    let backend = Backend::start(&guard).await;
    auth.stop().await;
    // The issuer is gone; the keys fetched at start still verify.
    assert_eq!(backend.get("/api/hello", Some(&a)).await.0, 200);
    assert_eq!(backend.get("/api/hello", Some(&b)).await.0, 200);
    // An unknown kid now tries a fetch, which fails; still a clean 401.
    let stranger = foreign_token(&auth, None);
    assert_eq!(backend.get("/api/hello", Some(&stranger)).await.0, 401);
    assert_eq!(backend.get("/api/hello", Some(&a)).await.0, 200);
    // Past the staleness bound (on the guard's clock), nothing is trusted:
    // 503, not a pass.
    auth.clock.advance(Duration::from_millis(3200));
    let (status, _, body) = backend.get("/api/hello", Some(&a)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_with_a_new_kid_cause_one_fetch() {
    let auth = Auth::start().await;
    auth.user("ada@example.com").await;
    let guard = guard_for(&auth).await;
    assert_eq!(guard.stats().jwks_fetches, 1);
    // A key the guard has never seen, in use at once.
    auth.server()
        .state()
        .app
        .tokens
        .rotate_keys(true, &Default::default())
        .await
        .unwrap();
    let token = Arc::new(auth.login("ada@example.com").await.0);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (g, t) = (guard.clone(), token.clone());
        set.spawn(async move { g.verify(&t).await.map(|_| ()) });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(
        guard.stats().jwks_fetches,
        2,
        "one fetch for the stampede: {:?}",
        guard.stats()
    );

    // And 1000 tokens with a bogus kid: at most one more fetch in the interval.
    let bogus = Arc::new(foreign_token(&auth, Some("no-such-key")));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (g, t) = (guard.clone(), bogus.clone());
        set.spawn(async move { g.verify(&t).await });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(
            r.unwrap().unwrap_err(),
            Error::InvalidToken(tessera_jose::Error::UnknownKey)
        );
    }
    assert_eq!(
        guard.stats().jwks_fetches,
        2,
        "the interval absorbs bogus kids: {:?}",
        guard.stats()
    );
}

#[tokio::test]
async fn logout_is_refused_by_the_backend_within_two_seconds() {
    let auth = Auth::start().await;
    let guard = following_guard(&auth).await;
    let backend = Backend::start(&guard).await;
    let (access, refresh) = auth.user("ada@example.com").await;
    let (other, _) = auth.user("bob@example.com").await;
    // Verified and cached.
    assert_eq!(backend.get("/api/hello", Some(&access)).await.0, 200);
    assert_eq!(backend.get("/api/hello", Some(&access)).await.0, 200);
    let r = auth
        .http
        .post(auth.url("/v1/auth/logout"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    refused_as_revoked_within(&backend, &access, Duration::from_secs(2), "logout").await;
    // Other sessions are untouched.
    assert_eq!(backend.get("/api/hello", Some(&other)).await.0, 200);
    assert_eq!(guard.stats().revoked_sessions, 1);
}

#[tokio::test]
async fn a_revoked_signing_key_is_refused_by_the_backend_within_seconds() {
    let auth = Auth::start().await;
    let guard = following_guard(&auth).await;
    let backend = Backend::start(&guard).await;
    let (access, _) = auth.user("ada@example.com").await;
    // Verified, cached, and its key in the guard's JWKS cache.
    assert_eq!(backend.get("/api/hello", Some(&access)).await.0, 200);
    assert_eq!(backend.get("/api/hello", Some(&access)).await.0, 200);
    let leaked = kid_of(&access);
    auth.server()
        .state()
        .app
        .tokens
        .revoke_key(&leaked, &Default::default())
        .await
        .unwrap();
    refused_as_revoked_within(&backend, &access, Duration::from_secs(5), "key revocation").await;
    // A token from the new key passes.
    let (fresh, _) = auth.login("ada@example.com").await;
    assert_ne!(kid_of(&fresh), leaked);
    assert_eq!(backend.get("/api/hello", Some(&fresh)).await.0, 200);
}

#[tokio::test]
async fn a_revoked_client_credentials_token_is_refused_by_the_backend_within_two_seconds() {
    let auth = Auth::start().await;
    let guard = following_guard(&auth).await;
    let backend = Backend::start(&guard).await;
    let token = auth.client_token(None).await;
    let other = auth.client_token(None).await;
    // Verified and cached.
    assert_eq!(backend.get("/api/hello", Some(&token)).await.0, 200);
    assert_eq!(backend.get("/api/hello", Some(&token)).await.0, 200);
    // RFC 7009 by the client it was issued to: no session to end, so the
    // token reaches the guard by its `jti` in the feed.
    let r = auth
        .http
        .post(auth.url("/oauth2/revoke"))
        .basic_auth(CLIENT, Some(CLIENT_SECRET))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    refused_as_revoked_within(
        &backend,
        &token,
        Duration::from_secs(2),
        "RFC 7009 revocation",
    )
    .await;
    // The client's other token is untouched.
    assert_eq!(backend.get("/api/hello", Some(&other)).await.0, 200);
}

/// A token signed by `key` whose header names no `kid`.
fn kidless_token(key: &SigningKey, claims: &serde_json::Value) -> String {
    use tessera_jose::b64;
    let header = b64::encode(br#"{"alg":"ES256","typ":"at+jwt"}"#);
    let input = format!("{header}.{}", b64::encode(claims.to_string().as_bytes()));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

#[tokio::test]
async fn a_token_without_a_kid_is_refused_even_against_a_lone_key() {
    // A leaked lone key could otherwise sign kid-less tokens that no
    // revocation of that kid would ever catch.
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys: tessera_jose::KeySet = [key.verifying_key().clone()].into_iter().collect();
    let clock = Arc::new(tessera_jose::ManualClock::new(T0));
    let guard = Guard::builder("https://auth.example", "tessera")
        .keys(keys)
        .clock(clock)
        .build()
        .await
        .unwrap();
    let claims = json!({
        "iss": "https://auth.example", "aud": "tessera", "sub": "x",
        "iat": T0, "exp": T0 + 60, "jti": "j1"
    });
    let named = encode(&key, Some("at+jwt"), &claims).unwrap();
    guard.verify(&named).await.unwrap();
    assert_eq!(
        guard
            .verify(&kidless_token(&key, &claims))
            .await
            .unwrap_err(),
        Error::InvalidToken(tessera_jose::Error::MissingKeyId)
    );
}

#[tokio::test]
async fn theft_detection_reaches_the_backend_too() {
    let auth = Auth::start().await;
    let guard = following_guard(&auth).await;
    let (_, refresh) = auth.user("ada@example.com").await;
    let r = auth
        .http
        .post(auth.url("/v1/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let next: serde_json::Value = r.json().await.unwrap();
    let access = next["access_token"].as_str().unwrap().to_owned();
    guard.verify(&access).await.unwrap();
    // The spent token again, after the grace window: the session dies.
    auth.advance(60);
    let r = auth
        .http
        .post(auth.url("/v1/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let started = Instant::now();
    while guard.verify(&access).await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(2), "theft not seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(guard.verify(&access).await.unwrap_err(), Error::Revoked);
}

#[tokio::test]
async fn discovery_checks_the_issuer_and_bad_setups_fail_at_build() {
    let auth = Auth::start().await;
    // The discovery document must name exactly the configured issuer.
    let err = Guard::builder(format!("{}/", auth.issuer), "tessera")
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Setup(ref m) if m.contains("different issuer")),
        "{err}"
    );
    // Nothing listening.
    let err = Guard::builder("http://127.0.0.1:9", "tessera")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Fetch(_)), "{err}");
    // Not a URL we fetch.
    let err = Guard::builder("file:///etc/passwd", "tessera")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Setup(_)), "{err}");
    // Wrong client credentials for the feed.
    let err = Guard::builder(&auth.issuer, "tessera")
        .follow_revocations(CLIENT, "wrong-secret-0123456789abcdefghijklmnopqrstuvwxyz")
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Fetch(ref m) if m.contains("401")),
        "{err}"
    );
}

#[tokio::test]
async fn a_token_naming_a_jku_never_causes_a_fetch_there() {
    let auth = Auth::start().await;
    let guard = guard_for(&auth).await;
    // A listener that records any connection.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_addr = trap.local_addr().unwrap();
    let hit = Arc::new(AtomicU64::new(0));
    let h = hit.clone();
    let task = tokio::spawn(async move {
        while trap.accept().await.is_ok() {
            h.fetch_add(1, Ordering::Relaxed);
        }
    });
    let evil = SigningKey::generate(Algorithm::ES256).unwrap();
    let claims = json!({"iss": auth.issuer, "aud": "tessera", "sub": "x", "exp": T0 + 60});
    // Hand-build a header with jku and x5u pointing at the trap.
    let header = json!({
        "alg": "ES256", "typ": "at+jwt", "kid": "attacker",
        "jku": format!("http://{trap_addr}/jwks.json"),
        "x5u": format!("http://{trap_addr}/cert.pem"),
    });
    let h64 = tessera_jose::b64::encode(header.to_string().as_bytes());
    let p64 = tessera_jose::b64::encode(claims.to_string().as_bytes());
    let input = format!("{h64}.{p64}");
    let sig = evil.sign(input.as_bytes()).unwrap();
    let token = format!("{input}.{}", tessera_jose::b64::encode(&sig));
    assert!(guard.verify(&token).await.is_err());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hit.load(Ordering::Relaxed),
        0,
        "the guard connected to a URL from a token"
    );
    task.abort();
}

#[tokio::test]
async fn https_discovery_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let auth = Auth::start_with(|cfg| {
        cfg.tls_cert = Some(cert.clone());
        cfg.tls_key = Some(key.clone());
        let port = cfg.listen.port();
        cfg.issuer = Some(format!("https://127.0.0.1:{port}"));
    })
    .await;
    // Untrusted by default.
    let err = Guard::builder(&auth.issuer, "tessera")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Fetch(_)), "{err}");
    // Trusted with the CA.
    let guard = Guard::builder(&auth.issuer, "tessera")
        .ca_pem(ck.cert.pem())
        .clock(auth.clock.clone())
        .build()
        .await
        .unwrap();
    // A token issued by the server verifies.
    let core = &auth.server().state().app;
    let ctx = Default::default();
    core.accounts
        .register("tls@example.com", crate::support::PASSWORD, &ctx)
        .await
        .unwrap();
    let pair = core
        .sessions
        .login("tls@example.com", crate::support::PASSWORD, &ctx)
        .await
        .unwrap();
    let who = guard.verify(&pair.access_token).await.unwrap();
    assert_eq!(who.session_id(), Some(pair.session_id.as_str()));
}

#[tokio::test]
async fn the_jwks_is_refreshed_in_the_background_as_cache_control_says() {
    // max-age follows the server's publish lead: 2 s here.
    let auth = Auth::start_with(|cfg| {
        cfg.key_publish_lead = tessera_server::config::Dur(Duration::from_secs(2));
    })
    .await;
    auth.user("ada@example.com").await;
    let guard = Guard::builder(&auth.issuer, "tessera")
        .clock(auth.clock.clone())
        .jwks_cache(CacheConfig {
            min_ttl: Duration::from_secs(1),
            // Unknown kids may cause one fetch an hour: spend it now, so any
            // key the guard learns later came from the background refresh.
            unknown_kid_interval: Duration::from_secs(3600),
            ..CacheConfig::default()
        })
        .build()
        .await
        .unwrap();
    let bogus = foreign_token(&auth, Some("bogus"));
    assert!(guard.verify(&bogus).await.is_err());
    assert_eq!(guard.stats().jwks_fetches, 2);
    // A scheduled rotation publishes the next key before anyone signs with it.
    auth.server()
        .state()
        .app
        .tokens
        .rotate_keys(false, &Default::default())
        .await
        .unwrap();
    // No request at all: the refresh happens on its own, at 80% of max-age
    // on the guard's clock (the refresher re-reads the clock at least every
    // second).
    auth.clock.advance(Duration::from_millis(2500));
    let refreshed = async {
        while guard.stats().jwks_fetches < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let waited = tokio::time::timeout(Duration::from_secs(5), refreshed).await;
    assert!(waited.is_ok(), "no background refresh: {:?}", guard.stats());
    // The new key signs; its token verifies although the guard may not
    // fetch for an unknown kid: the background refresh brought the key.
    auth.advance(3);
    let token = auth.login("ada@example.com").await.0;
    let kid = kid_of(&token);
    assert_ne!(kid, "bogus");
    guard.verify(&token).await.unwrap();
    assert_eq!(guard.stats().jwks_fetch_failures, 0);
}
