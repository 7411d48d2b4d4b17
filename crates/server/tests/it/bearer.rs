//! `GET /v1/me` and the Bearer scheme.

use crate::support::{send, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn me_returns_the_caller() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let r = t.me(&u.tokens.access).await.expect(200);
    assert_eq!(
        r.body,
        json!({ "id": u.id, "email": "ada@x.io", "roles": [], "email_verified": false,
            "sid": u.tokens.sid() })
    );
}

#[tokio::test]
async fn the_scheme_is_case_insensitive() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = send(
            t.req(Method::GET, "/v1/me")
                .header("authorization", format!("{scheme} {}", u.tokens.access)),
        )
        .await
        .expect(200);
        assert_eq!(r.body["id"].as_str().unwrap(), u.id);
    }
}

#[tokio::test]
async fn missing_or_bad_credentials_get_a_bearer_challenge() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    // No header at all.
    let r = t.get("/v1/me").await.expect_invalid_token();
    assert!(r.header("www-authenticate").contains("realm=\"tessera\""));
    // Malformed headers and garbage tokens.
    let mut tampered = u.tokens.access.clone();
    tampered.pop();
    tampered.push(if u.tokens.access.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let (h, rest) = u.tokens.access.split_once('.').unwrap();
    let (_, s) = rest.split_once('.').unwrap();
    let other_payload = tessera_jose::b64::encode(
        json!({ "sub": "someone-else", "iss": t.issuer().await, "aud": "tessera" })
            .to_string()
            .as_bytes(),
    );
    let spliced = format!("{h}.{other_payload}.{s}");
    let values = [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        "Bearer garbage".to_owned(),
        "Bearer a.b.c".to_owned(),
        format!("Basic {}", u.tokens.access),
        format!("Token {}", u.tokens.access),
        u.tokens.access.clone(),
        format!("Bearer {tampered}"),
        format!("Bearer {spliced}"),
        format!("Bearer {}", u.tokens.refresh),
        format!("Bearer {}x", u.tokens.access),
    ];
    for v in values {
        let r = send(t.req(Method::GET, "/v1/me").header("authorization", &v))
            .await
            .expect_invalid_token();
        assert_eq!(r.header("cache-control"), "no-store", "{v}");
    }
    // The genuine token still works after all that.
    t.me(&u.tokens.access).await.expect(200);
}

#[tokio::test]
async fn me_reports_the_current_roles() {
    // /v1/me reads the account from the store: a role change shows at once,
    // while the token keeps the roles it was issued with.
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    t.server()
        .state()
        .app
        .accounts
        .set_roles(&u.id, &["editor".into()], &Default::default())
        .await
        .unwrap();
    let r = t.me(&u.tokens.access).await.expect(200);
    assert_eq!(r.body["roles"], json!(["editor"]));
    assert_eq!(crate::support::claims(&u.tokens.access)["roles"], json!([]));
}

/// Issue 14 (smaller items): authenticity first. A forged token (valid
/// shape, the `sid` of a revoked session, a bad signature) gets exactly the
/// answer of any bad signature, never "the session has ended".
#[tokio::test]
async fn a_forged_token_learns_nothing_about_its_session() {
    let t = TestServer::start().await;
    let dead = t.user("ada@x.io").await;
    let live = t.user("bob@x.io").await;
    t.post(
        "/v1/auth/logout",
        &serde_json::json!({ "refresh_token": dead.tokens.refresh }),
    )
    .await
    .expect(204);
    let tamper = |tok: &str| {
        let mut b = tok.as_bytes().to_vec();
        let i = b.len() - 10;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let genuine_dead = t.me(&dead.tokens.access).await.expect_invalid_token();
    let forged_dead = t
        .me(&tamper(&dead.tokens.access))
        .await
        .expect_invalid_token();
    let forged_live = t
        .me(&tamper(&live.tokens.access))
        .await
        .expect_invalid_token();
    assert_eq!(forged_dead.body, forged_live.body);
    assert_eq!(
        forged_dead.header("www-authenticate"),
        forged_live.header("www-authenticate")
    );
    assert_ne!(forged_dead.body, genuine_dead.body, "{}", genuine_dead.text);
}
