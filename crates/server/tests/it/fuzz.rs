//! A deterministic fuzz run: ~1500 random requests against every route, with
//! random methods, bodies, forms, queries and headers, some of them carrying
//! real credentials so the handlers' deeper paths run.
//!
//! Invariants: never a 5xx; every 4xx (except to HEAD, which has no body) is
//! the JSON error shape with `Cache-Control: no-store`; every answer has an
//! `X-Request-Id`; afterwards the server is healthy and valid tokens work.

use crate::support::{assert_error_shape, Resp, TestServer, PASSWORD};
use base64::Engine as _;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use tessera_core::ClientInfo;

/// xorshift64: small, fast, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn b64(&mut self, len: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..len).map(|_| *self.pick(A) as char).collect()
    }
    /// A string of letters, digits, punctuation, whitespace, control
    /// characters (NUL included) and multi-byte characters.
    fn text(&mut self, max: usize) -> String {
        const SPECIAL: &[char] = &[
            '\0',
            '\u{1}',
            '\t',
            '\n',
            '\r',
            ' ',
            '"',
            '\\',
            '\'',
            '%',
            '&',
            '=',
            '+',
            ';',
            ',',
            ':',
            '/',
            '?',
            '#',
            '@',
            '<',
            '>',
            '{',
            '}',
            '[',
            ']',
            '\u{7f}',
            'é',
            'ß',
            '中',
            '😀',
            '\u{202e}',
            '\u{feff}',
            '\u{fffd}',
            '\u{10ffff}',
        ];
        let len = self.below(max + 1);
        (0..len)
            .map(|_| {
                if self.chance(30) {
                    *self.pick(SPECIAL)
                } else {
                    (b'!' + self.below(94) as u8) as char
                }
            })
            .collect()
    }
    /// Bytes valid in a header value (visible ASCII, space, tab, obs-text).
    fn header_bytes(&mut self, max: usize) -> Vec<u8> {
        let len = 1 + self.below(max);
        (0..len)
            .map(|_| match self.below(20) {
                0 => b' ',
                1 => b'\t',
                2 => 0x80 + self.below(128) as u8,
                _ => b'!' + self.below(94) as u8,
            })
            .collect()
    }
}

/// What the fuzzer aims at; one entry per route (and unknown paths).
const TARGETS: &[&str] = &[
    "register",
    "login",
    "refresh",
    "logout",
    "logout-all",
    "me",
    "sessions",
    "session",
    "admin-users",
    "admin-roles",
    "admin-user-sessions",
    "admin-keys",
    "admin-rotate",
    "admin-audit",
    "oauth-token",
    "oauth-revoke",
    "oauth-introspect",
    "jwks",
    "openid-configuration",
    "oauth-authorization-server",
    "healthz",
    "readyz",
    "metrics",
    "openapi",
    "docs",
    "unknown",
];

/// Real credentials the fuzzer mixes into requests.
struct Pool {
    admin_id: String,
    admin_access: String,
    victim_ids: Vec<String>,
    victim_emails: Vec<String>,
    access: Vec<String>,
    refresh: Vec<String>,
    sids: Vec<String>,
    client_secret: String,
    origin: String,
}

const CLIENT: &str = "fuzz-client";
const ADMIN: &str = "root@fuzz.test";
const STEADY: &str = "steady@fuzz.test";
const BYSTANDER: &str = "bystander@fuzz.test";

/// A fresh session, straight from the core (no throttle, no HTTP).
async fn core_login(t: &TestServer, email: &str) -> tessera_core::TokenPair {
    t.server()
        .state()
        .app
        .sessions
        .login_unthrottled(email, PASSWORD, &ClientInfo::default())
        .await
        .unwrap()
}

/// A fresh admin access token (the fuzzer may have revoked or demoted it).
async fn fresh_admin(t: &TestServer, pool: &Pool) -> String {
    t.server()
        .state()
        .app
        .accounts
        .set_roles(&pool.admin_id, &["admin".into()], &ClientInfo::default())
        .await
        .unwrap();
    core_login(t, ADMIN).await.access_token
}

async fn refill(t: &TestServer, pool: &mut Pool) {
    pool.admin_access = fresh_admin(t, pool).await;
    pool.access.clear();
    pool.refresh.clear();
    pool.sids.clear();
    pool.access.push(pool.admin_access.clone());
    for email in pool.victim_emails.clone() {
        let p = core_login(t, &email).await;
        pool.access.push(p.access_token.clone());
        pool.refresh.push(p.refresh_token.as_str().to_owned());
        pool.sids.push(p.session_id.clone());
    }
    let app = &t.server().state().app;
    let cc = app
        .clients
        .authenticate(CLIENT, &pool.client_secret)
        .await
        .unwrap();
    let grant = tessera_core::oauth::Grant::ClientCredentials { scope: None };
    let tok = match app
        .oauth
        .exchange(Some(&cc), grant, &ClientInfo::default())
        .await
        .unwrap()
    {
        tessera_core::oauth::Granted::Client(tok) => tok,
        other => panic!("not a client token: {other:?}"),
    };
    pool.access.push(tok.access_token);
}

/// One generated request.
struct Case {
    target: usize,
    method: Method,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Case {
    fn describe(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes());
                format!("{k}: {}", v.chars().take(120).collect::<String>())
            })
            .collect();
        let body = self
            .body
            .as_ref()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned());
        format!(
            "{} {} {} headers={headers:?} body={body:?}",
            TARGETS[self.target], self.method, self.path
        )
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A plausible, random or mangled token.
fn token(rng: &mut Rng, pool: &Pool) -> String {
    match rng.below(10) {
        0 | 1 => rng.pick(&pool.access).clone(),
        2 | 3 => rng.pick(&pool.refresh).clone(),
        4 => {
            // A real token with one character changed.
            let mut t = rng.pick(&pool.access).clone().into_bytes();
            let i = rng.below(t.len());
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(t).unwrap()
        }
        5 => format!("tsr_{}", rng.b64(75)),
        6 => format!("{}.{}.{}", rng.b64(36), rng.b64(120), rng.b64(86)),
        7 => {
            let len = 8000 + rng.below(4000);
            rng.b64(len)
        }
        8 => String::new(),
        _ => rng.text(40),
    }
}

/// A path segment where an id goes.
fn id_segment(rng: &mut Rng, pool: &Pool) -> String {
    match rng.below(12) {
        0 | 1 => rng.pick(&pool.victim_ids).clone(),
        2 | 3 => rng.pick(&pool.sids).clone(),
        4 => rng.b64(22),
        5 => "%00".into(),
        6 => "%ff%fe".into(),
        7 => "a%2Fb".into(),
        8 => "%E4%B8%AD%F0%9F%98%80".into(),
        9 => rng.b64(2000),
        10 => "..".into(),
        _ => form_urlencoded::byte_serialize(rng.text(20).as_bytes()).collect(),
    }
}

fn query(rng: &mut Rng, keys: &[&str]) -> String {
    if !rng.chance(40) {
        return String::new();
    }
    let n = 1 + rng.below(3);
    let mut parts = Vec::new();
    for _ in 0..n {
        let k = if rng.chance(70) {
            (*rng.pick(keys)).to_owned()
        } else {
            rng.b64(5)
        };
        let v = match rng.below(8) {
            0 => "0".to_owned(),
            1 => "-1".to_owned(),
            2 => "99999999999999999999999".to_owned(),
            3 => (1 + rng.below(50)).to_string(),
            4 => "true".to_owned(),
            5 => "%00".to_owned(),
            _ => form_urlencoded::byte_serialize(rng.text(12).as_bytes()).collect(),
        };
        parts.push(format!("{k}={v}"));
    }
    format!("?{}", parts.join("&"))
}

fn path_of(rng: &mut Rng, pool: &Pool, target: usize) -> String {
    match TARGETS[target] {
        "register" => "/v1/auth/register".into(),
        "login" => "/v1/auth/login".into(),
        "refresh" => "/v1/auth/refresh".into(),
        "logout" => "/v1/auth/logout".into(),
        "logout-all" => "/v1/auth/logout-all".into(),
        "me" => "/v1/me".into(),
        "sessions" => "/v1/sessions".into(),
        "session" => format!("/v1/sessions/{}", id_segment(rng, pool)),
        "admin-users" => format!(
            "/v1/admin/users{}",
            query(rng, &["after", "limit", "limit"])
        ),
        "admin-roles" => format!("/v1/admin/users/{}/roles", id_segment(rng, pool)),
        "admin-user-sessions" => format!("/v1/admin/users/{}/sessions", id_segment(rng, pool)),
        "admin-keys" => "/v1/admin/keys".into(),
        "admin-rotate" => format!("/v1/admin/keys/rotate{}", query(rng, &["immediate"])),
        "admin-audit" => format!("/v1/admin/audit{}", query(rng, &["before", "limit"])),
        "oauth-token" => "/oauth2/token".into(),
        "oauth-revoke" => "/oauth2/revoke".into(),
        "oauth-introspect" => "/oauth2/introspect".into(),
        "jwks" => "/.well-known/jwks.json".into(),
        "openid-configuration" => "/.well-known/openid-configuration".into(),
        "oauth-authorization-server" => "/.well-known/oauth-authorization-server".into(),
        "healthz" => "/healthz".into(),
        "readyz" => "/readyz".into(),
        "metrics" => "/metrics".into(),
        "openapi" => "/openapi.json".into(),
        "docs" => rng
            .pick(&[
                "/docs",
                "/docs/",
                "/docs/index.html",
                "/docs/swagger-ui.css",
                "/docs/no-such-file.js",
                "/docs/../openapi.json",
            ])
            .to_string(),
        _ => {
            let n = 1 + rng.below(4);
            let mut p = String::new();
            for _ in 0..n {
                p.push('/');
                p.push_str(&match rng.below(6) {
                    0 => "v1".to_owned(),
                    1 => ".well-known".to_owned(),
                    2 => "oauth2".to_owned(),
                    3 => "%00".to_owned(),
                    _ => form_urlencoded::byte_serialize(rng.text(10).as_bytes()).collect(),
                });
            }
            p
        }
    }
}

/// The method each route answers.
fn right_method(target: usize) -> Method {
    match TARGETS[target] {
        "register" | "login" | "refresh" | "logout" | "logout-all" | "admin-rotate"
        | "oauth-token" | "oauth-revoke" | "oauth-introspect" => Method::POST,
        "session" | "admin-user-sessions" => Method::DELETE,
        "admin-roles" => Method::PUT,
        _ => Method::GET,
    }
}

const JSON_KEYS: &[&str] = &[
    "email",
    "password",
    "refresh_token",
    "cookie",
    "roles",
    "grant_type",
    "token",
];

fn json_value(rng: &mut Rng, pool: &Pool, depth: usize) -> Value {
    match rng.below(if depth >= 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => match rng.below(4) {
            0 => json!(rng.next() as i64),
            1 => json!(u64::MAX),
            2 => json!(f64::MIN_POSITIVE),
            _ => json!(-0.5),
        },
        3 => Value::String(rng.text(30)),
        4 => Value::String(token(rng, pool)),
        5 => Value::String(
            rng.pick(&[
                "ada@x.io",
                "  ADA@X.IO ",
                "a@b",
                "@",
                "x@.io",
                PASSWORD,
                "admin",
            ])
            .to_string(),
        ),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| json_value(rng, pool, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(5) {
                let k = if rng.chance(70) {
                    (*rng.pick(JSON_KEYS)).to_owned()
                } else {
                    rng.text(8)
                };
                m.insert(k, json_value(rng, pool, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// A random JSON-ish body: valid, truncated, oversized, nested, or broken.
fn json_body(rng: &mut Rng, pool: &Pool) -> Vec<u8> {
    let valid = serde_json::to_vec(&json_value(rng, pool, 0)).unwrap();
    match rng.below(14) {
        0 => valid[..rng.below(valid.len() + 1)].to_vec(),
        1 => br#"{"email": 1e999999, "password": 123456789012345678901234567890}"#.to_vec(),
        2 => {
            let n = 10 + rng.below(3000);
            let mut v = "[".repeat(n).into_bytes();
            v.extend("]".repeat(n).into_bytes());
            v
        }
        3 => {
            let n = 10 + rng.below(200);
            let mut v = r#"{"a":"#.repeat(n).into_bytes();
            v.extend(b"1");
            v.extend("}".repeat(n).into_bytes());
            v
        }
        4 => br#"{"email":"a@x.io","email":"b@x.io","password":"x"}"#.to_vec(),
        5 => b"{\"email\":\"a\0b@x.io\",\"password\":\"\0\0\0\0\0\0\0\0\"}".to_vec(),
        6 => vec![0xff, 0xfe, b'{', 0x80, b'}'],
        7 => {
            // Over the body limit.
            let mut v = br#"{"email":""#.to_vec();
            v.extend(std::iter::repeat_n(b'a', 17 * 1024 + rng.below(8000)));
            v.extend(br#"","password":"x"}"#);
            v
        }
        8 => b"\xef\xbb\xbf{}".to_vec(),
        9 => b"   ".to_vec(),
        10 => b"null".to_vec(),
        11 => {
            let mut v = valid;
            v.extend(b" trailing");
            v
        }
        _ => valid,
    }
}

const FORM_KEYS: &[&str] = &[
    "grant_type",
    "username",
    "password",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
];

fn form_value(rng: &mut Rng, pool: &Pool, key: &str) -> String {
    if rng.chance(30) {
        return rng.text(20);
    }
    match key {
        "grant_type" => rng
            .pick(&[
                "password",
                "refresh_token",
                "client_credentials",
                "authorization_code",
                "",
            ])
            .to_string(),
        "username" => rng.pick(&pool.victim_emails).clone(),
        "password" => PASSWORD.into(),
        "scope" => rng
            .pick(&["read", "read write", "admin", "", "\"bad\""])
            .to_string(),
        "client_id" => rng.pick(&[CLIENT, "nobody", "%00"]).to_string(),
        "client_secret" => pool.client_secret.clone(),
        "token_type_hint" => rng
            .pick(&["access_token", "refresh_token", "other"])
            .to_string(),
        _ => token(rng, pool),
    }
}

fn form_body(rng: &mut Rng, pool: &Pool) -> Vec<u8> {
    match rng.below(8) {
        0 => b"%zz&&==&a=%&=b&grant_type".to_vec(),
        1 => {
            let mut v = b"token=".to_vec();
            v.extend(std::iter::repeat_n(b'x', 17 * 1024));
            v
        }
        2 => vec![0xff, b'=', 0xfe, b'&', 0, b'=', 0],
        _ => {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for _ in 0..rng.below(6) {
                let k = if rng.chance(85) {
                    (*rng.pick(FORM_KEYS)).to_owned()
                } else {
                    rng.text(6)
                };
                let v = form_value(rng, pool, &k);
                pairs.push((k, v));
            }
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
                .into_bytes()
        }
    }
}

fn header(name: &str, value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name.as_bytes()).ok()?,
        HeaderValue::from_bytes(value).ok()?,
    ))
}

/// A random request to `target`.
fn random_case(rng: &mut Rng, pool: &Pool, target: usize) -> Case {
    let method = if rng.chance(60) {
        right_method(target)
    } else {
        match rng.below(9) {
            0 => Method::GET,
            1 => Method::POST,
            2 => Method::PUT,
            3 => Method::DELETE,
            4 => Method::PATCH,
            5 => Method::OPTIONS,
            6 => Method::HEAD,
            7 => Method::TRACE,
            _ => Method::from_bytes(b"FUZZ").unwrap(),
        }
    };
    let path = path_of(rng, pool, target);
    let mut headers = Vec::new();
    let mut push = |h: Option<(HeaderName, HeaderValue)>| {
        if let Some(h) = h {
            headers.push(h);
        }
    };
    if rng.chance(70) {
        let v = match rng.below(9) {
            0..=2 => format!("Bearer {}", rng.pick(&pool.access)),
            3 => format!("Bearer {}", pool.admin_access),
            4 => format!(
                "{} {}",
                rng.pick(&["bearer", "BEARER", "Token", "Bearer  "]),
                token(rng, pool)
            ),
            5 => basic(CLIENT, &pool.client_secret),
            6 => basic(&rng.text(10), &rng.text(10)),
            7 => rng.pick(&["Bearer", "Basic", "Bearer ", ""]).to_string(),
            _ => format!("Bearer {}", token(rng, pool)),
        };
        push(header("authorization", v.as_bytes()));
    }
    if rng.chance(30) {
        let v = match rng.below(5) {
            0 | 1 => format!("tessera_refresh={}", rng.pick(&pool.refresh)),
            2 => format!("a=1; tessera_refresh=tsr_{}; b=2", rng.b64(75)),
            3 => format!("tessera_refresh={}", rng.b64(10_000)),
            _ => String::from_utf8_lossy(&rng.header_bytes(200)).into_owned(),
        };
        push(header("cookie", v.as_bytes()));
    }
    if rng.chance(30) {
        let v = rng.header_bytes(20);
        push(header("x-tessera-csrf", &v));
    }
    if rng.chance(25) {
        let v = match rng.below(4) {
            0 => pool.origin.clone(),
            1 => "https://app.fuzz.test".into(),
            2 => "null".into(),
            _ => "https://evil.example".into(),
        };
        push(header("origin", v.as_bytes()));
    }
    if rng.chance(10) {
        let v = *rng.pick(&["cross-site", "same-origin", "none", "same-site"]);
        push(header("sec-fetch-site", v.as_bytes()));
    }
    if rng.chance(20) {
        let max = if rng.chance(20) { 3000 } else { 60 };
        let v = rng.header_bytes(max);
        push(header("user-agent", &v));
    }
    if rng.chance(15) {
        let v = rng.header_bytes(100);
        push(header("x-request-id", &v));
    }
    if rng.chance(10) {
        let name = format!(
            "x-fuzz-{}",
            rng.b64(6).to_ascii_lowercase().replace('_', "-")
        );
        let v = rng.header_bytes(12_000);
        push(header(&name, &v));
    }
    let body = match rng.below(10) {
        0..=2 => None,
        3..=6 => Some(json_body(rng, pool)),
        7 | 8 => Some(form_body(rng, pool)),
        _ => Some(
            (0..rng.below(300))
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>(),
        ),
    };
    if body.is_some() || rng.chance(20) {
        let ct: &[u8] = match rng.below(12) {
            0..=3 => b"application/json",
            4 => b"application/json; charset=utf-8",
            5 => b"APPLICATION/JSON",
            6 => b"application/merge-patch+json",
            7 | 8 => b"application/x-www-form-urlencoded",
            9 => b"text/plain",
            10 => b"multipart/form-data; boundary=zz",
            _ => b"\x80\xff/;;=",
        };
        if !rng.chance(10) {
            push(header("content-type", ct));
        }
    }
    Case {
        target,
        method,
        path,
        headers,
        body,
    }
}

/// A well-formed request to `target` with fresh, real credentials.
async fn valid_case(rng: &mut Rng, t: &TestServer, pool: &Pool, target: usize, n: usize) -> Case {
    let json_ct = || header("content-type", b"application/json").unwrap();
    let form_ct = || header("content-type", b"application/x-www-form-urlencoded").unwrap();
    let bearer = |tok: &str| header("authorization", format!("Bearer {tok}").as_bytes()).unwrap();
    let json = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let form = |pairs: &[(&str, &str)]| {
        Some(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
                .into_bytes(),
        )
    };
    let victim = rng.pick(&pool.victim_ids).clone();
    let mut path = path_of(rng, pool, target);
    let mut headers = Vec::new();
    let mut body = None;
    match TARGETS[target] {
        "register" => {
            headers.push(json_ct());
            body = json(json!({ "email": format!("new{n}@fuzz.test"), "password": PASSWORD }));
        }
        "login" => {
            headers.push(json_ct());
            body = json(json!({ "email": STEADY, "password": PASSWORD, "cookie": rng.chance(30) }));
        }
        "refresh" | "logout" => {
            let p = core_login(t, STEADY).await;
            if rng.chance(30) {
                let c = format!("tessera_refresh={}", p.refresh_token.as_str());
                headers.push(header("cookie", c.as_bytes()).unwrap());
                headers.push(header("x-tessera-csrf", b"1").unwrap());
            } else {
                headers.push(json_ct());
                body = json(json!({ "refresh_token": p.refresh_token.as_str() }));
            }
        }
        "logout-all" | "me" | "sessions" => {
            headers.push(bearer(&core_login(t, STEADY).await.access_token));
        }
        "session" => {
            let p = core_login(t, STEADY).await;
            path = format!("/v1/sessions/{}", p.session_id);
            headers.push(bearer(&p.access_token));
        }
        "admin-users" | "admin-keys" | "admin-rotate" | "admin-audit" | "admin-user-sessions" => {
            headers.push(bearer(&fresh_admin(t, pool).await));
            path = match TARGETS[target] {
                "admin-users" => "/v1/admin/users?limit=3".into(),
                "admin-rotate" => "/v1/admin/keys/rotate".into(),
                "admin-audit" => "/v1/admin/audit?limit=5".into(),
                "admin-user-sessions" => format!("/v1/admin/users/{victim}/sessions"),
                _ => path,
            };
        }
        "admin-roles" => {
            headers.push(bearer(&fresh_admin(t, pool).await));
            headers.push(json_ct());
            path = format!("/v1/admin/users/{victim}/roles");
            let roles = rng
                .pick(&[vec![], vec!["editor"], vec!["admin", "x:y"]])
                .clone();
            body = json(json!({ "roles": roles }));
        }
        "oauth-token" => {
            headers.push(form_ct());
            body = match rng.below(3) {
                0 => {
                    headers.push(
                        header(
                            "authorization",
                            basic(CLIENT, &pool.client_secret).as_bytes(),
                        )
                        .unwrap(),
                    );
                    form(&[("grant_type", "client_credentials"), ("scope", "read")])
                }
                1 => form(&[
                    ("grant_type", "password"),
                    ("username", STEADY),
                    ("password", PASSWORD),
                ]),
                _ => {
                    let p = core_login(t, STEADY).await;
                    form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", p.refresh_token.as_str()),
                    ])
                }
            };
        }
        "oauth-revoke" | "oauth-introspect" => {
            headers.push(form_ct());
            headers.push(
                header(
                    "authorization",
                    basic(CLIENT, &pool.client_secret).as_bytes(),
                )
                .unwrap(),
            );
            let p = core_login(t, STEADY).await;
            let tok = if rng.chance(50) {
                p.access_token.clone()
            } else {
                p.refresh_token.as_str().to_owned()
            };
            body = form(&[("token", &tok)]);
        }
        "docs" => path = "/docs/".into(),
        _ => {}
    }
    Case {
        target,
        method: right_method(target),
        path,
        headers,
        body,
    }
}

/// Sends a case and checks the invariants every answer keeps.
async fn fire(t: &TestServer, case: &Case) -> u16 {
    let build = || {
        let mut req: RequestBuilder = t.req(case.method.clone(), &case.path);
        for (k, v) in &case.headers {
            req = req.header(k.clone(), v.clone());
        }
        if let Some(b) = &case.body {
            req = req.body(b.clone());
        }
        req
    };
    // A pooled keep-alive connection the server has just closed (after an
    // early answer such as 413) can fail at the transport level; the same
    // request on a fresh connection must then get a proper answer.
    let res = match build().send().await {
        Ok(r) => r,
        Err(_) => build()
            .header("connection", "close")
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed ({e}): {}", case.describe())),
    };
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    let r = Resp {
        status,
        headers,
        text,
        body,
    };
    assert!(
        !status.is_server_error(),
        "a 5xx answer {r:?} to {}",
        case.describe()
    );
    assert!(
        r.headers.contains_key("x-request-id"),
        "no X-Request-Id in {r:?} to {}",
        case.describe()
    );
    if status.is_client_error() && case.method != Method::HEAD {
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_error_shape(&r);
            assert_eq!(r.header("cache-control"), "no-store");
        }));
        if checked.is_err() {
            panic!("a malformed error answer {r:?} to {}", case.describe());
        }
    }
    status.as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_break_the_server() {
    let t = TestServer::start_with(|c| {
        // Let the deeper paths run: no per-IP limits (the account backoff stays).
        c.login_ip_max_failures = 1_000_000;
        c.register_rate_per_minute = 0;
        c.refresh_rate_per_minute = 0;
        c.cors_origins = tessera_server::config::OriginList(vec!["https://app.fuzz.test".into()]);
    })
    .await;
    let admin = t.admin(ADMIN).await;
    t.register(STEADY).await;
    let bystander = t.user(BYSTANDER).await;
    let mut victim_ids = Vec::new();
    let mut victim_emails = Vec::new();
    for i in 0..3 {
        let email = format!("victim{i}@fuzz.test");
        victim_ids.push(t.register(&email).await["id"].as_str().unwrap().to_owned());
        victim_emails.push(email);
    }
    let client_secret = "fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz".to_owned();
    t.server()
        .state()
        .app
        .clients
        .create(
            CLIENT,
            &client_secret,
            &["read".into(), "write".into()],
            &[
                "client_credentials".into(),
                "password".into(),
                "refresh_token".into(),
            ],
        )
        .await
        .unwrap();
    let mut pool = Pool {
        admin_id: admin.id.clone(),
        admin_access: admin.tokens.access.clone(),
        victim_ids,
        victim_emails,
        access: Vec::new(),
        refresh: Vec::new(),
        sids: Vec::new(),
        client_secret,
        origin: t.issuer().await,
    };
    refill(&t, &mut pool).await;

    let mut rng = Rng(0x7e55_e4a0_f022_2024);
    let mut hits = vec![0usize; TARGETS.len()];
    let mut successes = vec![0usize; TARGETS.len()];
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut advanced = 0u64;
    const N: usize = 1500;
    for n in 0..N {
        if n % 100 == 99 {
            refill(&t, &mut pool).await;
        }
        if advanced < 400 && rng.chance(3) {
            let secs = 1 + rng.below(12) as u64;
            t.advance(secs);
            advanced += secs;
        }
        let target = rng.below(TARGETS.len());
        let case = if rng.chance(25) {
            valid_case(&mut rng, &t, &pool, target, n).await
        } else {
            random_case(&mut rng, &pool, target)
        };
        let status = fire(&t, &case).await;
        hits[target] += 1;
        if (200..300).contains(&status) {
            successes[target] += 1;
        }
        *statuses.entry(status).or_default() += 1;
    }

    // Every route was exercised, and every real route answered successfully
    // at least once (the fuzzer reached past the input checks).
    for (i, name) in TARGETS.iter().enumerate() {
        assert!(hits[i] >= 20, "{name} hit only {} times", hits[i]);
        if *name != "unknown" {
            assert!(successes[i] >= 1, "{name}: no 2xx in {} requests", hits[i]);
        }
    }
    eprintln!("fuzz: statuses {statuses:?}; hits {hits:?}; 2xx {successes:?}");
    let seen: BTreeSet<u16> = statuses.keys().copied().collect();
    for s in [200, 201, 204, 400, 401, 403, 404, 405, 413, 415] {
        assert!(seen.contains(&s), "never saw {s}: {statuses:?}");
    }
    assert_eq!(statuses.values().sum::<usize>(), N);

    // The server is healthy ...
    let r = t.get("/healthz").await.expect(200);
    assert_eq!(r.body, json!({ "status": "ok" }));
    t.get("/readyz").await.expect(200);
    // ... tokens it never saw still work and verify against the live JWKS ...
    let me = t.me(&bystander.tokens.access).await.expect(200);
    assert_eq!(me.str("id"), bystander.id);
    t.verify(&bystander.tokens.access).await.unwrap();
    let next = t.refresh_ok(&bystander.tokens.refresh).await;
    t.me(&next.access).await.expect(200);
    t.verify(&next.access).await.unwrap();
    // ... and new logins, admin calls and client tokens work.
    let fresh = t.login(BYSTANDER).await;
    t.me(&fresh.access).await.expect(200);
    let admin_access = fresh_admin(&t, &pool).await;
    let users = t
        .get_auth("/v1/admin/users?limit=500", &admin_access)
        .await
        .expect(200);
    assert!(users.text.contains(BYSTANDER));
    let cc = crate::support::send(
        t.req(Method::POST, "/oauth2/token")
            .basic_auth(CLIENT, Some(&pool.client_secret))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await
    .expect(200);
    assert_eq!(cc.body["scope"], "read write");
}

/// What earlier fuzz runs found, pinned down: each of these once answered
/// with a 5xx (NUL in a key, on PostgreSQL) or a non-JSON error.
#[tokio::test]
async fn fuzz_findings_stay_fixed() {
    let t = TestServer::start_with(|c| c.login_ip_max_failures = 3).await;
    let admin = t.admin(ADMIN).await;
    let u = t.user("ada@x.io").await;
    let a = &admin.tokens.access;
    // A NUL byte in an id: not found, not a database error.
    t.delete_auth("/v1/sessions/a%00b", &u.tokens.access)
        .await
        .expect_error(404, "not_found");
    t.delete_auth("/v1/admin/users/%00/sessions", a)
        .await
        .expect_error(404, "not_found");
    t.put_auth("/v1/admin/users/x%00/roles", a, &json!({ "roles": ["x"] }))
        .await
        .expect_error(404, "not_found");
    t.get_auth("/v1/admin/users?after=a%00", a)
        .await
        .expect_error(400, "invalid_request");
    for id in ["\0", "fuzz\0client"] {
        let r = crate::support::send(
            t.req(Method::POST, "/oauth2/token")
                .header("authorization", basic(id, "a-secret"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
        r.expect_error(401, "invalid_client");
        crate::support::send(t.req(Method::POST, "/oauth2/introspect").form(&[
            ("token", "x"),
            ("client_id", id),
            ("client_secret", "a-secret"),
        ]))
        .await
        .expect_error(401, "invalid_client");
    }
    // Bodies over the limit on the form endpoints: a JSON 413.
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
        let big = format!("token={}", "x".repeat(17 * 1024));
        crate::support::send(
            t.req(Method::POST, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(big),
        )
        .await
        .expect_error(413, "payload_too_large");
    }
    // An unknown file under /docs/: the JSON 404.
    t.get("/docs/no-such-file.js")
        .await
        .expect_error(404, "not_found");
    // Logins with addresses that can never exist (a NUL, or very long) still
    // count toward the IP's backoff.
    let long = format!("{}@x.io", "a".repeat(9000));
    for email in ["a\0b@x.io", long.as_str(), "c\0@x.io", "\0"] {
        t.post(
            "/v1/auth/login",
            &json!({ "email": email, "password": "not the password" }),
        )
        .await
        .expect_error(401, "invalid_credentials");
    }
    t.post(
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": PASSWORD }),
    )
    .await
    .expect_error(429, "too_many_requests");
    // Everything else still works.
    t.me(&u.tokens.access).await.expect(200);
    t.get_auth("/v1/admin/users", a).await.expect(200);
}
