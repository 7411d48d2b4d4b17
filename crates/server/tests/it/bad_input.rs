//! Malformed requests: always a JSON 4xx, never a 5xx.

use crate::support::{send, Resp, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::json;

async fn raw(
    t: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Resp {
    let mut req = t.req(Method::POST, path).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    send(req).await
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn invalid_json_is_400() {
    let t = TestServer::start().await;
    for body in [
        "",
        "{",
        "{\"email\":",
        "not json",
        "{\"email\": \"a@x.io\", \"password\": \"correct horse\",}",
        "{'email': 'a@x.io'}",
        "{\"email\": \"a@x.io\"} trailing",
    ] {
        let r = raw(&t, "/v1/auth/register", JSON, body).await.expect(400);
        assert!(
            ["invalid_json", "invalid_request"].contains(&r.str("error")),
            "{body}: {}",
            r.text
        );
    }
    let r = raw(&t, "/v1/auth/login", JSON, "{\"email\":")
        .await
        .expect_error(400, "invalid_json");
    assert_eq!(r.str("error_description"), "the body is not valid JSON");
    // Invalid UTF-8.
    raw(
        &t,
        "/v1/auth/login",
        JSON,
        vec![b'{', b'"', 0xff, b'"', b':', b'1', b'}'],
    )
    .await
    .expect_error(400, "invalid_json");
    // Too deep.
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    raw(&t, "/v1/auth/login", JSON, deep)
        .await
        .expect_error(400, "invalid_json");
}

#[tokio::test]
async fn wrong_shapes_are_400() {
    let t = TestServer::start().await;
    for body in [
        json!({ "email": 1, "password": PASSWORD }),
        json!({ "email": "a@x.io", "password": ["x"] }),
        json!({ "email": null, "password": PASSWORD }),
        json!({ "email": "a@x.io" }),
        json!({ "password": PASSWORD }),
        json!([]),
        json!("a@x.io"),
        json!(null),
        json!(42),
    ] {
        let r = t.post("/v1/auth/register", &body).await.expect(400);
        assert_eq!(r.str("error"), "invalid_request", "{body}: {}", r.text);
    }
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": 1, "password": PASSWORD }),
        )
        .await
        .expect_error(400, "invalid_request");
    // The description says what was expected, and never echoes input.
    assert!(
        r.str("error_description").contains("expected"),
        "{}",
        r.text
    );
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "a@x.io", "password": { "secret-value": 1 } }),
        )
        .await
        .expect_error(400, "invalid_request");
    assert!(!r.text.contains("secret-value"), "{}", r.text);
    t.post(
        "/v1/auth/login",
        &json!({ "email": "a@x.io", "password": PASSWORD, "cookie": "yes" }),
    )
    .await
    .expect_error(400, "invalid_request");
}

#[tokio::test]
async fn duplicate_members_are_400() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let body = format!(
        "{{\"email\":\"ada@x.io\",\"password\":\"wrong password\",\"password\":\"{PASSWORD}\"}}"
    );
    let r = raw(&t, "/v1/auth/login", JSON, body)
        .await
        .expect_error(400, "invalid_json");
    assert!(
        r.str("error_description").contains("duplicate"),
        "{}",
        r.text
    );
    raw(
        &t,
        "/v1/auth/register",
        JSON,
        format!("{{\"email\":\"x@x.io\",\"email\":\"y@x.io\",\"password\":\"{PASSWORD}\"}}"),
    )
    .await
    .expect_error(400, "invalid_json");
    // Nothing was registered.
    t.register("x@x.io").await;
    t.register("y@x.io").await;
}

#[tokio::test]
async fn unknown_fields_are_400() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let r = t
        .post(
            "/v1/auth/register",
            &json!({ "email": "b@x.io", "password": PASSWORD, "roles": ["admin"] }),
        )
        .await
        .expect_error(400, "invalid_request");
    assert!(
        r.str("error_description").contains("unknown field"),
        "{}",
        r.text
    );
    // Not even a role sneaked in: registering b works and has no roles.
    let b = t.register("b@x.io").await;
    assert_eq!(b["roles"], json!([]));
    t.post(
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": PASSWORD, "remember": true }),
    )
    .await
    .expect_error(400, "invalid_request");
    t.post(
        "/v1/auth/refresh",
        &json!({ "refresh_token": u.tokens.refresh, "scope": "admin" }),
    )
    .await
    .expect_error(400, "invalid_request");
    // The refresh token was not consumed by the refused request.
    t.refresh_ok(&u.tokens.refresh).await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let t = TestServer::start().await;
    // Exactly at the limit (16 KiB, padded with whitespace): accepted.
    let body = format!("{{\"email\":\"ada@x.io\",\"password\":\"{PASSWORD}\"}}");
    let at_limit = format!("{body:<16384}");
    assert_eq!(at_limit.len(), 16 * 1024);
    raw(&t, "/v1/auth/register", JSON, at_limit.clone())
        .await
        .expect(201);
    // One byte more: 413.
    let over = format!("{at_limit} ");
    let r = raw(&t, "/v1/auth/register", JSON, over)
        .await
        .expect_error(413, "payload_too_large");
    assert!(r.str("error_description").contains("16384"), "{}", r.text);
    // Large bodies everywhere that takes one.
    let big = format!("{{\"refresh_token\":\"{}\"}}", "x".repeat(20_000));
    for path in ["/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout"] {
        raw(&t, path, JSON, big.clone())
            .await
            .expect_error(413, "payload_too_large");
    }
    // Without a Content-Length (chunked): still 413.
    let (status, text) = chunked_post(&t, "/v1/auth/login", big.into_bytes()).await;
    assert!(status.contains(" 413 "), "{status}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    assert!(body.contains("payload_too_large"), "{text}");
    // A smaller configured limit applies.
    let small = TestServer::start_with(|c| c.max_body_bytes = 256).await;
    let body = json!({ "email": "ada@x.io", "password": "p".repeat(300) });
    small
        .post("/v1/auth/register", &body)
        .await
        .expect_error(413, "payload_too_large");
}

/// POSTs `body` with `Transfer-Encoding: chunked` (no Content-Length) over a
/// plain socket; returns the status line and the whole answer.
async fn chunked_post(t: &TestServer, path: &str, body: Vec<u8>) -> (String, String) {
    use std::io::{Read, Write};
    let addr = t.server().addr();
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        for chunk in body.chunks(1024) {
            // The server may answer and close before reading everything.
            if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .is_err()
                || s.write_all(chunk).is_err()
                || s.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.lines().next().unwrap_or_default().to_owned();
        (status, text)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_missing_or_wrong_content_type_is_415() {
    let t = TestServer::start().await;
    let body = json!({ "email": "ada@x.io", "password": PASSWORD }).to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
        Some("application/jsonx"),
        Some("json"),
    ] {
        for path in ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh"] {
            let r = raw(&t, path, ct, body.clone())
                .await
                .expect_error(415, "unsupported_media_type");
            assert!(r.str("error_description").contains("application/json"));
        }
    }
    // Parameters and +json types are accepted.
    raw(
        &t,
        "/v1/auth/register",
        Some("application/json; charset=utf-8"),
        body.clone(),
    )
    .await
    .expect(201);
    raw(&t, "/v1/auth/login", Some("Application/JSON"), body.clone())
        .await
        .expect(200);
    raw(
        &t,
        "/v1/auth/login",
        Some("application/vnd.tessera+json"),
        body,
    )
    .await
    .expect(200);
    // PUT bodies too.
    let admin = t.admin("root@x.io").await;
    let r = send(
        t.req(Method::PUT, &format!("/v1/admin/users/{}/roles", admin.id))
            .bearer_auth(&admin.tokens.access)
            .header("content-type", "text/plain")
            .body("{\"roles\":[]}"),
    )
    .await;
    r.expect_error(415, "unsupported_media_type");
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let t = TestServer::start().await;
    for path in [
        "/v1",
        "/v1/nope",
        "/v1/auth/register/extra",
        "/.well-known/nope",
        "/v2/me",
    ] {
        t.get(path).await.expect_error(404, "not_found");
    }
    send(t.req(Method::POST, "/v1/unknown").json(&json!({})))
        .await
        .expect_error(404, "not_found");
    send(t.req(Method::DELETE, "/v1/sessions"))
        .await
        .expect(405);
}

#[tokio::test]
async fn wrong_methods_are_405_json() {
    let t = TestServer::start().await;
    let cases = [
        (Method::GET, "/v1/auth/register"),
        (Method::GET, "/v1/auth/login"),
        (Method::PUT, "/v1/auth/refresh"),
        (Method::GET, "/v1/auth/logout"),
        (Method::GET, "/v1/auth/logout-all"),
        (Method::POST, "/v1/me"),
        (Method::DELETE, "/v1/me"),
        (Method::POST, "/v1/sessions"),
        (Method::GET, "/v1/sessions/some-id"),
        (Method::POST, "/v1/admin/users"),
        (Method::GET, "/v1/admin/users/x/roles"),
        (Method::POST, "/v1/admin/users/x/sessions"),
        (Method::GET, "/v1/admin/keys/rotate"),
        (Method::DELETE, "/v1/admin/keys"),
        (Method::POST, "/.well-known/jwks.json"),
        (Method::POST, "/healthz"),
        (Method::PATCH, "/readyz"),
    ];
    for (method, path) in cases {
        let r = send(t.req(method.clone(), path))
            .await
            .expect_error(405, "method_not_allowed");
        assert!(!r.str("error_description").is_empty(), "{method} {path}");
    }
}

#[tokio::test]
async fn undecodable_path_parameters_are_400_json() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let cases = [
        (Method::DELETE, "/v1/sessions/%FF"),
        (Method::DELETE, "/v1/admin/users/%FF%FE/sessions"),
    ];
    for (method, path) in cases {
        send(t.req(method, path).bearer_auth(&admin.tokens.access))
            .await
            .expect_error(400, "invalid_request");
    }
    send(
        t.req(Method::PUT, "/v1/admin/users/%C3%28/roles")
            .bearer_auth(&admin.tokens.access)
            .json(&json!({ "roles": [] })),
    )
    .await
    .expect_error(400, "invalid_request");
    // Percent-encoded valid UTF-8 is just an unknown id.
    send(
        t.req(Method::DELETE, "/v1/sessions/%C3%A9")
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_408_json() {
    let t = TestServer::start_with(|c| {
        c.request_timeout = tessera_server::config::Dur(std::time::Duration::from_secs(1));
    })
    .await;
    // The body never arrives in full.
    let addr = t.server().addr();
    let text = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let head = format!(
            "POST /v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\nConnection: close\r\n\r\n{{\"email\""
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/json"), "{text}");
    let body: serde_json::Value =
        serde_json::from_str(&text[text.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["error"], "request_timeout", "{text}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    // The server is fine afterwards.
    t.get("/healthz").await.expect(200);
}
