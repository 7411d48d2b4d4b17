//! Behind a reverse proxy: with `trusted_proxies`, the client address comes
//! from the proxy's header (the right-most untrusted hop), for the per-IP
//! throttles, the session list and the audit log; without it, or from an
//! untrusted peer, forwarding headers change nothing. IPv6 clients are
//! rate-limited per /64.

use crate::support::{send, Resp, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::json;
use tessera_server::config::{ProxyHeader, ProxyList};

/// The test client connects from 127.0.0.1: that is "the proxy".
fn behind_proxy(header: ProxyHeader) -> impl FnOnce(&mut tessera_server::config::Config) {
    move |c| {
        c.trusted_proxies = serde_json::from_value::<ProxyList>(json!("127.0.0.0/8")).unwrap();
        c.proxy_header = header;
        c.login_ip_max_failures = 3; // the fourth failure starts a backoff
        c.login_max_failures = 1000;
    }
}

async fn login_via(t: &TestServer, header: (&str, &str), email: &str, password: &str) -> Resp {
    send(
        t.req(Method::POST, "/v1/auth/login")
            .header(header.0, header.1)
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

/// The `ip` of the caller's own session in `GET /v1/sessions`.
async fn session_ip(t: &TestServer, access: &str) -> String {
    let r = t.get_auth("/v1/sessions", access).await.expect(200);
    let list = r.body["sessions"].as_array().unwrap();
    let current = list.iter().find(|s| s["current"] == true).unwrap();
    current["ip"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_per_ip_throttle_sees_clients_not_the_proxy() {
    let t = TestServer::start_with(behind_proxy(ProxyHeader::XForwardedFor)).await;
    t.register("ada@x.io").await;
    let attacker = ("x-forwarded-for", "1.1.1.1, 203.0.113.66");
    for _ in 0..4 {
        login_via(&t, attacker, "ada@x.io", "wrong password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    // The attacker's address is now backed off, whatever it claims on the left...
    login_via(
        &t,
        ("x-forwarded-for", "9.9.9.9, 203.0.113.66"),
        "ada@x.io",
        PASSWORD,
    )
    .await
    .expect_error(429, "too_many_requests");
    // ...but another client behind the same proxy signs in.
    let r = login_via(
        &t,
        ("x-forwarded-for", "198.51.100.7"),
        "ada@x.io",
        PASSWORD,
    )
    .await
    .expect(200);
    assert_eq!(session_ip(&t, r.str("access_token")).await, "198.51.100.7");
    let audit = t.admin("root@x.io").await;
    let log = t
        .get_auth("/v1/admin/audit?limit=50", &audit.tokens.access)
        .await
        .expect(200);
    let text = log.text;
    assert!(text.contains("203.0.113.66"), "{text}");
    assert!(
        !text.contains("1.1.1.1"),
        "a client-written hop was believed: {text}"
    );
}

#[tokio::test]
async fn forwarded_is_read_when_configured() {
    let t = TestServer::start_with(behind_proxy(ProxyHeader::Forwarded)).await;
    t.register("ada@x.io").await;
    let r = login_via(
        &t,
        ("forwarded", r#"for="[2001:db8:cafe::17]:4711";proto=https"#),
        "ada@x.io",
        PASSWORD,
    )
    .await
    .expect(200);
    assert_eq!(
        session_ip(&t, r.str("access_token")).await,
        "2001:db8:cafe::17"
    );
    // X-Forwarded-For is not the configured header: ignored.
    let r = login_via(&t, ("x-forwarded-for", "203.0.113.9"), "ada@x.io", PASSWORD)
        .await
        .expect(200);
    assert_eq!(session_ip(&t, r.str("access_token")).await, "127.0.0.1");
}

#[tokio::test]
async fn without_trusted_proxies_forwarding_headers_change_nothing() {
    let t = TestServer::start_with(|c| c.login_ip_max_failures = 3).await;
    t.register("ada@x.io").await;
    let r = login_via(&t, ("x-forwarded-for", "203.0.113.9"), "ada@x.io", PASSWORD)
        .await
        .expect(200);
    assert_eq!(session_ip(&t, r.str("access_token")).await, "127.0.0.1");
    // A client cannot escape its backoff by claiming other addresses.
    for i in 0..4 {
        let fake = format!("203.0.113.{i}");
        login_via(&t, ("x-forwarded-for", &fake), "bob@x.io", "wrong password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    login_via(
        &t,
        ("x-forwarded-for", "198.51.100.1"),
        "ada@x.io",
        PASSWORD,
    )
    .await
    .expect_error(429, "too_many_requests");
}

#[tokio::test]
async fn ipv6_clients_are_rate_limited_per_64() {
    let t = TestServer::start_with(|c| {
        behind_proxy(ProxyHeader::XForwardedFor)(c);
        c.register_rate_per_minute = 2;
    })
    .await;
    let register = |email: String, ip: &'static str| {
        let req = t
            .req(Method::POST, "/v1/auth/register")
            .header("x-forwarded-for", ip)
            .json(&json!({ "email": email, "password": PASSWORD }));
        send(req)
    };
    register("a@x.io".into(), "2001:db8:1:2::1")
        .await
        .expect(201);
    register("b@x.io".into(), "2001:db8:1:2::2")
        .await
        .expect(201);
    // A third address in the same /64 shares the bucket.
    register("c@x.io".into(), "2001:db8:1:2:ffff::3")
        .await
        .expect_error(429, "too_many_requests");
    // Another /64 has its own.
    register("d@x.io".into(), "2001:db8:1:3::1")
        .await
        .expect(201);
}
