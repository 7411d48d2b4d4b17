//! Operations: the audit trail of a whole session, Prometheus metrics,
//! request ids, and password-hash upgrades across a restart.

use crate::support::{claims, send, Resp, TestServer, PASSWORD, T0};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const UA: &str = "ops-test/1.0 (tessera)";

/// A request carrying the test's User-Agent.
fn req(t: &TestServer, method: Method, path: &str) -> RequestBuilder {
    t.req(method, path).header("user-agent", UA)
}

async fn post_ua(t: &TestServer, path: &str, body: &Value) -> Resp {
    send(req(t, Method::POST, path).json(body)).await
}

/// Every audit event with an id above `after`, oldest first.
async fn audit_since(t: &TestServer, admin: &str, after: i64) -> Vec<Value> {
    let r = t
        .get_auth("/v1/admin/audit?limit=1000", admin)
        .await
        .expect(200);
    assert_eq!(r.body["next"], Value::Null);
    let mut events: Vec<Value> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"].as_i64().unwrap() > after)
        .cloned()
        .collect();
    events.reverse();
    events
}

/// The id of the newest audit event.
async fn newest_audit_id(t: &TestServer, admin: &str) -> i64 {
    let r = t
        .get_auth("/v1/admin/audit?limit=1", admin)
        .await
        .expect(200);
    r.body["events"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_audit_log_follows_a_session_from_start_to_end() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let base = newest_audit_id(&t, &admin.tokens.access).await;

    // register, a failed login, login.
    let reg = post_ua(
        &t,
        "/v1/auth/register",
        &json!({ "email": "ada@x.io", "password": PASSWORD }),
    )
    .await
    .expect(201);
    let uid = reg.str("id").to_owned();
    t.advance(1);
    post_ua(
        &t,
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": "wrong password" }),
    )
    .await
    .expect(401);
    t.advance(1);
    let login = post_ua(
        &t,
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": PASSWORD }),
    )
    .await
    .expect(200);
    let sid1 = claims(login.str("access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let rt0 = login.str("refresh_token").to_owned();
    // refresh, grace replay, reuse after the window.
    t.advance(1);
    let r1 = post_ua(&t, "/v1/auth/refresh", &json!({ "refresh_token": rt0 }))
        .await
        .expect(200);
    t.advance(2);
    let replay = post_ua(&t, "/v1/auth/refresh", &json!({ "refresh_token": rt0 }))
        .await
        .expect(200);
    assert_eq!(replay.str("refresh_token"), r1.str("refresh_token"));
    t.advance(20);
    post_ua(&t, "/v1/auth/refresh", &json!({ "refresh_token": rt0 }))
        .await
        .expect_error(401, "invalid_grant");
    // A second session, ended by logout.
    t.advance(1);
    let login2 = post_ua(
        &t,
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": PASSWORD }),
    )
    .await
    .expect(200);
    let sid2 = claims(login2.str("access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    t.advance(1);
    post_ua(
        &t,
        "/v1/auth/logout",
        &json!({ "refresh_token": login2.str("refresh_token") }),
    )
    .await
    .expect(204);
    // An admin changes roles, and rotates the key.
    t.advance(1);
    send(
        req(&t, Method::PUT, &format!("/v1/admin/users/{uid}/roles"))
            .bearer_auth(&admin.tokens.access)
            .json(&json!({ "roles": ["editor", "billing:read"] })),
    )
    .await
    .expect(200);
    t.advance(1);
    let key =
        send(req(&t, Method::POST, "/v1/admin/keys/rotate").bearer_auth(&admin.tokens.access))
            .await
            .expect(201);
    let kid = key.str("kid").to_owned();

    let events = audit_since(&t, &admin.tokens.access, base).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "user.registered",
            "login.failure",
            "login.success",
            "refresh.rotated",
            "refresh.grace_replay",
            "refresh.reuse_detected",
            "login.success",
            "logout",
            "roles.changed",
            "key.rotated",
        ],
    );
    // (user, session, at, detail) of each, in order.
    let uid = Value::from(uid);
    let (s1, s2) = (Value::from(sid1), Value::from(sid2));
    let want = [
        (&uid, &Value::Null, T0, Value::Null),
        (&uid, &Value::Null, T0 + 1, Value::Null),
        (&uid, &s1, T0 + 2, Value::Null),
        (&uid, &s1, T0 + 3, Value::Null),
        (&uid, &s1, T0 + 5, Value::Null),
        (
            &uid,
            &s1,
            T0 + 25,
            Value::from("presented generation 0, current 1"),
        ),
        (&uid, &s2, T0 + 26, Value::Null),
        (&uid, &s2, T0 + 27, Value::Null),
        (
            &uid,
            &Value::Null,
            T0 + 28,
            Value::from("editor,billing:read"),
        ),
        (&Value::Null, &Value::Null, T0 + 29, Value::from(kid)),
    ];
    let mut last_id = base;
    for (e, (user, session, at, detail)) in events.iter().zip(want) {
        assert_eq!(e["user_id"], *user, "{e}");
        assert_eq!(e["session_id"], *session, "{e}");
        assert_eq!(e["at"], at, "{e}");
        assert_eq!(e["detail"], detail, "{e}");
        assert_eq!(e["ip"], "127.0.0.1", "{e}");
        assert_eq!(e["user_agent"], UA, "{e}");
        let id = e["id"].as_i64().unwrap();
        assert!(id > last_id, "ids grow: {e}");
        last_id = id;
        assert_eq!(
            (&e["count"], &e["last_at"]),
            (&Value::from(1), &Value::Null),
            "{e}"
        );
        // Only the administrative actions name their actor (issue 20);
        // none of these came through an OAuth client.
        let by_admin = matches!(e["event"].as_str(), Some("roles.changed" | "key.rotated"));
        let actor = if by_admin {
            Value::from(admin.id.as_str())
        } else {
            Value::Null
        };
        assert_eq!(e["actor"], actor, "{e}");
        assert_eq!(e["client_id"], Value::Null, "{e}");
        assert_eq!(e.as_object().unwrap().len(), 12, "{e}");
    }
    let all = t
        .get_auth("/v1/admin/audit", &admin.tokens.access)
        .await
        .expect(200);
    assert!(!all.text.contains(PASSWORD) && !all.text.contains("wrong password"));
    assert!(
        !all.text.contains(&rt0),
        "no refresh tokens in the audit log"
    );
}

#[tokio::test]
async fn the_audit_log_pages_back_with_before_and_next() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    for i in 0..5 {
        t.user(&format!("u{i}@x.io")).await;
    }
    let full = t
        .get_auth("/v1/admin/audit", &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(full.body["next"], Value::Null);
    let all: Vec<i64> = full.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    // admin: registered, login, roles.changed, login; 5 × (registered, login).
    assert_eq!(all.len(), 4 + 10, "{}", full.text);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");
    for limit in [1usize, 3, 7, 14, 20] {
        let mut seen: Vec<i64> = Vec::new();
        let mut before: Option<i64> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/v1/admin/audit?limit={limit}");
            if let Some(b) = before {
                path.push_str(&format!("&before={b}"));
            }
            let r = t.get_auth(&path, &admin.tokens.access).await.expect(200);
            pages += 1;
            let ids: Vec<i64> = r.body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap())
                .collect();
            assert!(ids.len() <= limit);
            seen.extend(&ids);
            match r.body["next"].as_i64() {
                Some(n) => {
                    assert_eq!(ids.len(), limit, "a full page has a next");
                    assert_eq!(Some(&n), ids.last(), "next is the last id");
                    before = Some(n);
                }
                None => break,
            }
            assert!(pages <= all.len() + 1, "paging terminates");
        }
        assert_eq!(seen, all, "limit {limit}");
        // Full pages plus possibly one empty or short one.
        assert_eq!(pages, all.len() / limit + 1, "limit {limit}");
    }
    // Bad paging parameters: 400; out-of-range limits are clamped.
    for q in [
        "?before=abc",
        "?limit=-1",
        "?limit=x",
        "?after=1",
        "?before=1.5",
    ] {
        t.get_auth(&format!("/v1/admin/audit{q}"), &admin.tokens.access)
            .await
            .expect_error(400, "invalid_request");
    }
    let r = t
        .get_auth("/v1/admin/audit?limit=0", &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
    let r = t
        .get_auth(
            &format!("/v1/admin/audit?before={}", all[all.len() - 1]),
            &admin.tokens.access,
        )
        .await
        .expect(200);
    assert_eq!(r.body, json!({ "events": [], "next": null }));
}

/// A series: its name and labels.
type Key = (String, BTreeMap<String, String>);
/// The Prometheus exposition, parsed into (name, labels) → value.
type Series = BTreeMap<Key, f64>;

fn parse_metrics(text: &str) -> Series {
    // Parallel tests share the process-wide registry; a line this simple
    // parser does not understand is skipped, never fatal.
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<(Key, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let Some((name, rest)) = series.split_once('{') else {
        return Some(((series.to_owned(), BTreeMap::new()), value));
    };
    let mut rest = rest.strip_suffix('}')?;
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (k, v) = rest.split_once("=\"")?;
        let end = v.find('"')?;
        labels.insert(k.to_owned(), v[..end].to_owned());
        rest = v[end + 1..].strip_prefix(',').unwrap_or(&v[end + 1..]);
    }
    Some(((name.to_owned(), labels), value))
}

fn value(s: &Series, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    *s.get(&(name.to_owned(), want))
        .unwrap_or_else(|| panic!("no series {name}{labels:?}"))
}

async fn scrape(t: &TestServer) -> Series {
    let r = t.get("/metrics").await.expect(200);
    assert_eq!(r.header("content-type"), "text/plain; version=0.0.4");
    parse_metrics(&r.text)
}

#[tokio::test]
async fn metrics_count_requests_logins_and_refreshes() {
    let t = TestServer::start().await;
    let before = scrape(&t).await;
    let get = |s: &Series, name: &str, labels: &[(&str, &str)]| {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        s.get(&(name.to_owned(), want)).copied().unwrap_or(0.0)
    };
    let logins_ok = get(&before, "tessera_logins_total", &[("outcome", "success")]);
    let logins_bad = get(&before, "tessera_logins_total", &[("outcome", "failure")]);

    // 3 successful logins, 2 failures, 2 rotations, 1 grace replay, 1 reuse.
    let u = t.user("ada@x.io").await;
    t.login("ada@x.io").await;
    let s3 = t.login("ada@x.io").await;
    for _ in 0..2 {
        t.post(
            "/v1/auth/login",
            &json!({ "email": "ada@x.io", "password": "wrong password" }),
        )
        .await
        .expect(401);
    }
    let next = t.refresh_ok(&u.tokens.refresh).await;
    t.refresh_ok(&next.refresh).await;
    t.refresh_ok(&s3.refresh).await;
    t.refresh_ok(&s3.refresh).await; // grace replay
    t.advance(11);
    t.refresh(&s3.refresh)
        .await
        .expect_error(401, "invalid_grant"); // reuse
                                             // A request on a route with a path parameter.
    let doomed = t.login("ada@x.io").await;
    t.delete_auth(&format!("/v1/sessions/{}", doomed.sid()), &u.tokens.access)
        .await;

    let after = scrape(&t).await;
    let login_200 = value(
        &after,
        "tessera_http_requests_total",
        &[
            ("route", "/v1/auth/login"),
            ("method", "POST"),
            ("status", "200"),
        ],
    );
    assert!(login_200 >= 4.0, "{login_200}");
    let login_401 = value(
        &after,
        "tessera_http_requests_total",
        &[
            ("route", "/v1/auth/login"),
            ("method", "POST"),
            ("status", "401"),
        ],
    );
    assert!(login_401 >= 2.0, "{login_401}");
    let login_buckets: Vec<_> = after
        .iter()
        .filter(|((name, labels), _)| {
            name == "tessera_http_request_duration_seconds_bucket"
                && labels.get("route").map(String::as_str) == Some("/v1/auth/login")
                && labels.get("method").map(String::as_str) == Some("POST")
        })
        .collect();
    // The configured buckets (12) plus +Inf.
    assert_eq!(login_buckets.len(), 13, "{login_buckets:?}");
    let inf = value(
        &after,
        "tessera_http_request_duration_seconds_bucket",
        &[
            ("route", "/v1/auth/login"),
            ("method", "POST"),
            ("le", "+Inf"),
        ],
    );
    assert!(inf >= 6.0, "{inf}");
    let count = value(
        &after,
        "tessera_http_request_duration_seconds_count",
        &[("route", "/v1/auth/login"), ("method", "POST")],
    );
    assert!(count >= inf, "{count} {inf}");
    assert!(value(&after, "tessera_logins_total", &[("outcome", "success")]) >= logins_ok + 4.0);
    assert!(value(&after, "tessera_logins_total", &[("outcome", "failure")]) >= logins_bad + 2.0);
    for (outcome, at_least) in [
        ("rotated", 3.0),
        ("grace_replay", 1.0),
        ("reuse_detected", 1.0),
    ] {
        let v = value(&after, "tessera_refreshes_total", &[("outcome", outcome)]);
        assert!(v >= at_least, "{outcome}: {v}");
    }
    // Routes are labelled by their template, never by the raw path.
    let del = value(
        &after,
        "tessera_http_requests_total",
        &[
            ("route", "/v1/sessions/{id}"),
            ("method", "DELETE"),
            ("status", "204"),
        ],
    );
    assert!(del >= 1.0);
    let text = t.get("/metrics").await.expect(200).text;
    assert!(!text.contains(&doomed.sid()), "no ids in labels");
    assert!(!text.contains("ada@x.io"));
}

#[tokio::test]
async fn request_ids_are_echoed_when_plain_and_replaced_otherwise() {
    let t = TestServer::start().await;
    let id_of = |r: &Resp| r.header("x-request-id").to_owned();
    let generated = |id: &str| {
        let (prefix, n) = id.rsplit_once('-').unwrap_or_else(|| panic!("{id}"));
        !prefix.is_empty()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    };
    // Plain ids come back as sent, on success and error answers alike.
    let max = "a".repeat(64);
    for id in ["abc-123", "Req_42.x", "0", max.as_str()] {
        for path in ["/healthz", "/no-such-path", "/v1/me"] {
            let r = send(t.req(Method::GET, path).header("x-request-id", id)).await;
            assert_eq!(id_of(&r), id, "{path}");
        }
    }
    // None sent: a generated one, different each time.
    let a = id_of(&t.get("/healthz").await);
    let b = id_of(&t.get("/healthz").await);
    assert!(generated(&a) && generated(&b), "{a} {b}");
    assert_ne!(a, b);
    // Unsafe ids are replaced, never echoed.
    let long = "b".repeat(65);
    let non_ascii = reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
    for bad in [
        reqwest::header::HeaderValue::from_static("has space"),
        reqwest::header::HeaderValue::from_static("tab\there"),
        reqwest::header::HeaderValue::from_static("quote\"and<tag>"),
        reqwest::header::HeaderValue::from_static("semi;colon"),
        reqwest::header::HeaderValue::from_static("slash/and=eq"),
        reqwest::header::HeaderValue::from_str(&long).unwrap(),
        reqwest::header::HeaderValue::from_static(""),
        non_ascii,
    ] {
        let r = send(
            t.req(Method::GET, "/healthz")
                .header("x-request-id", bad.clone()),
        )
        .await;
        let got = id_of(&r);
        assert_ne!(got.as_bytes(), bad.as_bytes());
        assert!(generated(&got), "{bad:?} → {got}");
    }
    // A newline cannot travel in a header at all; a raw request with one in
    // a folded header line is refused by the HTTP layer, not echoed.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = t.server().addr();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let deadline = std::time::Duration::from_secs(10);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: evil\r\n injected: 1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(deadline, s.read_to_end(&mut buf))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.to_ascii_lowercase().contains("injected"), "{text}");
    if text.starts_with("HTTP/1.1 200") {
        assert!(!text.contains("evil"), "{text}");
    }
}

#[tokio::test]
async fn password_hashes_are_upgraded_at_login_after_the_parameters_change() {
    let mut t = TestServer::start_with(|c| {
        c.issuer = Some("http://tessera.test".into());
        c.argon2_memory_kib = 256;
    })
    .await;
    let admin = t.admin("root@x.io").await;
    let u = t.user("ada@x.io").await;
    let stored = |t: &TestServer, email: &'static str| {
        let app = t.server().state().app.clone();
        async move {
            app.accounts
                .user_by_email(email)
                .await
                .unwrap()
                .unwrap()
                .password_hash
        }
    };
    let old = stored(&t, "ada@x.io").await;
    assert!(old.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{old}");

    // The same data directory and database, with new parameters.
    t.cfg.argon2_memory_kib = 512;
    t.restart().await;
    // Until the user logs in, nothing changes; a failed login changes nothing.
    assert_eq!(stored(&t, "ada@x.io").await, old);
    send(
        req(&t, Method::POST, "/v1/auth/login")
            .json(&json!({ "email": "ada@x.io", "password": "wrong password" })),
    )
    .await
    .expect(401);
    assert_eq!(stored(&t, "ada@x.io").await, old);
    // Sessions from before the restart still work.
    t.me(&u.tokens.access).await.expect(200);

    let base = newest_audit_id(&t, &admin.tokens.access).await;
    let login = post_ua(
        &t,
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": PASSWORD }),
    )
    .await
    .expect(200);
    let new = stored(&t, "ada@x.io").await;
    assert!(new.starts_with("$argon2id$v=19$m=512,t=1,p=1$"), "{new}");
    assert_ne!(new, old);
    let events = audit_since(&t, &admin.tokens.access, base).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["password.rehashed", "login.success"]);
    assert_eq!(events[0]["user_id"].as_str().unwrap(), u.id);
    assert_eq!(events[0]["ip"], "127.0.0.1");
    assert_eq!(events[0]["user_agent"], UA);
    assert_eq!(
        events[1]["session_id"],
        claims(login.str("access_token"))["sid"]
    );
    // The upgraded hash verifies, and is not upgraded again.
    t.login("ada@x.io").await;
    assert_eq!(stored(&t, "ada@x.io").await, new);
    let events = audit_since(&t, &admin.tokens.access, base).await;
    let rehashes = events
        .iter()
        .filter(|e| e["event"] == "password.rehashed")
        .count();
    assert_eq!(rehashes, 1);
    // The wrong password is still wrong against the new hash.
    t.post(
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": "wrong password" }),
    )
    .await
    .expect_error(401, "invalid_credentials");
    // The admin, who has not logged in since, still has the old parameters.
    assert!(stored(&t, "root@x.io")
        .await
        .starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
}
