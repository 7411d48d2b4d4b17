//! Login throttling over HTTP: per-account and per-IP exponential backoff,
//! `Retry-After`, resets, configuration, and no account enumeration.
//!
//! The rule: `login_max_failures` failures are free; the next failure starts
//! a backoff of `login_backoff_base`, doubling with each further failure up to
//! `login_backoff_max`. While backed off, every attempt (even the right
//! password) gets 429 before any password work and does not count. The
//! limits hold for parallel attempts too, and an address that has logged in
//! to an account before meets only the per-IP backoff for it.

use crate::support::{send, Resp, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tessera_server::config::Dur;

const WRONG: &str = "not the password";

/// `POST /v1/auth/login` (whatever the answer).
async fn attempt(t: &TestServer, email: &str, password: &str) -> Resp {
    t.post(
        "/v1/auth/login",
        &json!({ "email": email, "password": password }),
    )
    .await
}

/// A failed login: 401 `invalid_credentials`.
async fn fail(t: &TestServer, email: &str) {
    attempt(t, email, WRONG)
        .await
        .expect_error(401, "invalid_credentials");
}

/// `Retry-After` in seconds.
#[track_caller]
fn retry_after(r: &Resp) -> u64 {
    r.header("retry-after")
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not a number: {r:?}"))
}

/// An attempt that must be throttled; returns `Retry-After`.
async fn throttled(t: &TestServer, email: &str, password: &str) -> u64 {
    let r = attempt(t, email, password)
        .await
        .expect_error(429, "too_many_requests");
    assert_eq!(r.header("cache-control"), "no-store");
    let secs = retry_after(&r);
    assert!(
        r.str("error_description").contains(&format!("{secs} s")),
        "{}",
        r.text
    );
    secs
}

/// The OAuth password grant (same throttle).
async fn password_grant(t: &TestServer, email: &str, password: &str) -> Resp {
    send(t.req(Method::POST, "/oauth2/token").form(&[
        ("grant_type", "password"),
        ("username", email),
        ("password", password),
    ]))
    .await
}

fn secs(n: u64) -> Dur {
    Dur(Duration::from_secs(n))
}

#[tokio::test]
async fn an_account_backs_off_exponentially_and_a_success_resets_it() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    // The five free failures, and the sixth, which starts the backoff.
    for _ in 0..6 {
        fail(&t, "ada@x.io").await;
    }
    // Now even the right password waits; waiting attempts do not count.
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 1);
    assert_eq!(throttled(&t, "ada@x.io", WRONG).await, 1);
    assert_eq!(throttled(&t, "ADA@x.io ", PASSWORD).await, 1, "normalised");
    // The OAuth password grant shares the throttle.
    let r = password_grant(&t, "ada@x.io", PASSWORD)
        .await
        .expect_error(429, "too_many_requests");
    assert_eq!(retry_after(&r), 1);
    // Each further failure doubles the delay.
    t.advance(1);
    fail(&t, "ada@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 2);
    t.advance(1);
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 1, "what is left");
    t.advance(1);
    fail(&t, "ada@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 4);
    t.advance(3);
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 1);
    // Retry-After seconds later, the right password works ...
    t.advance(1);
    let tokens = t.login("ada@x.io").await;
    t.me(&tokens.access).await.expect(200);
    // ... and this address is now known for the account: its failures meet
    // only the per-IP backoff (50 free), so they cannot lock the owner out
    // (a new address would still meet the account's; see the core tests).
    for _ in 0..6 {
        fail(&t, "ada@x.io").await;
    }
    t.login("ada@x.io").await;
    // Another account is not affected.
    t.register("bob@x.io").await;
    t.login("bob@x.io").await;
}

/// What a client observes for one scripted run against `email`.
async fn observe(t: &TestServer, email: &str) -> Vec<(u16, Option<u64>, String)> {
    let mut seen = Vec::new();
    let mut record = |r: Resp| {
        let ra = r.headers.get("retry-after").map(|_| retry_after(&r));
        seen.push((r.status.as_u16(), ra, r.text));
    };
    for step in 0..24 {
        match step {
            8 | 14 => t.advance(1),
            10 => t.advance(2),
            16 => t.advance(3),
            _ => {}
        }
        record(attempt(t, email, WRONG).await);
    }
    // The OAuth grant answers alike too.
    record(password_grant(t, email, WRONG).await);
    seen
}

#[tokio::test]
async fn unknown_accounts_are_throttled_exactly_like_real_ones() {
    // Two servers, the same script: one has the account, the other does not.
    let known = TestServer::start().await;
    known.register("ada@x.io").await;
    let unknown = TestServer::start().await;
    let a = observe(&known, "ada@x.io").await;
    let b = observe(&unknown, "ada@x.io").await;
    assert_eq!(a, b, "no difference a client could see");
    // And the sequence itself is the documented one.
    let shape: Vec<(u16, Option<u64>)> = a.iter().map(|(s, r, _)| (*s, *r)).collect();
    let mut want = vec![(401, None); 6]; // steps 0-5: the 6th failure backs off 1 s
    want.extend([(429, Some(1)); 2]); // steps 6, 7
    want.push((401, None)); // step 8 (+1 s): the 7th failure, 2 s
    want.push((429, Some(2))); // step 9
    want.push((401, None)); // step 10 (+2 s): the 8th failure, 4 s
    want.extend([(429, Some(4)); 3]); // steps 11-13
    want.extend([(429, Some(3)); 2]); // steps 14 (+1 s), 15
    want.push((401, None)); // step 16 (+3 s): the 9th failure, 8 s
    want.extend([(429, Some(8)); 7]); // steps 17-23
    want.push((429, Some(8))); // the OAuth grant
    assert_eq!(shape, want);
    // The same holds within one server, for a real and an unknown address
    // side by side.
    let t = TestServer::start().await;
    t.register("real@x.io").await;
    for _ in 0..6 {
        let x = attempt(&t, "real@x.io", WRONG).await.expect(401);
        let y = attempt(&t, "ghost@x.io", WRONG).await.expect(401);
        assert_eq!(x.body, y.body);
    }
    let x = throttled(&t, "real@x.io", PASSWORD).await;
    let y = throttled(&t, "ghost@x.io", PASSWORD).await;
    assert_eq!((x, y), (1, 1));
}

#[tokio::test]
async fn the_ip_backs_off_across_accounts() {
    let t = TestServer::start_with(|c| c.login_ip_max_failures = 3).await;
    t.register("ada@x.io").await;
    t.register("bob@x.io").await;
    // Four failures on four different (unknown) accounts from one IP: the
    // fourth starts the IP's backoff, though no account is near its limit.
    for i in 1..=4 {
        fail(&t, &format!("probe{i}@x.io")).await;
    }
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 1);
    assert_eq!(throttled(&t, "bob@x.io", PASSWORD).await, 1);
    assert_eq!(throttled(&t, "fresh@x.io", WRONG).await, 1);
    password_grant(&t, "bob@x.io", PASSWORD)
        .await
        .expect_error(429, "too_many_requests");
    t.advance(1);
    t.login("bob@x.io").await;
    // A success resets the account, not the IP: the next failure from this
    // IP, on any account, doubles the IP's delay.
    fail(&t, "probe5@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 2);
    t.advance(2);
    t.login("ada@x.io").await;
    // Other endpoints are not throttled by login failures.
    t.register("carol@x.io").await;
}

#[tokio::test]
async fn thresholds_and_delays_are_configurable() {
    let t = TestServer::start_with(|c| {
        c.login_max_failures = 2;
        c.login_backoff_base = secs(5);
        c.login_backoff_max = secs(12);
    })
    .await;
    t.register("ada@x.io").await;
    for _ in 0..3 {
        fail(&t, "ada@x.io").await;
    }
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 5);
    t.advance(5);
    fail(&t, "ada@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 10);
    t.advance(10);
    fail(&t, "ada@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 12, "capped");
    t.advance(12);
    fail(&t, "ada@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 12, "capped");
    t.advance(12);
    t.login("ada@x.io").await;

    // No free failures at all: the first failure backs off.
    let strict = TestServer::start_with(|c| c.login_max_failures = 0).await;
    strict.register("ada@x.io").await;
    fail(&strict, "ada@x.io").await;
    assert_eq!(throttled(&strict, "ada@x.io", PASSWORD).await, 1);
    strict.advance(1);
    strict.login("ada@x.io").await;
}

#[tokio::test]
async fn failures_are_forgotten_after_a_quiet_period() {
    // The counter resets after 4 × login_backoff_max without a failure.
    let t = TestServer::start_with(|c| {
        c.login_max_failures = 1;
        c.login_backoff_max = secs(2);
    })
    .await;
    t.register("ada@x.io").await;
    fail(&t, "ada@x.io").await;
    fail(&t, "ada@x.io").await;
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 1);
    t.advance(7);
    fail(&t, "ada@x.io").await; // not quiet long enough: the third failure
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 2);
    t.advance(8);
    fail(&t, "ada@x.io").await; // quiet for 8 s: counted as the first again
    fail(&t, "ada@x.io").await; // the second: backoff from the base
    assert_eq!(throttled(&t, "ada@x.io", PASSWORD).await, 1);
}

/// The password checks the audit log saw: its `login.failure` entries for
/// `user_id`, counting an aggregated entry's repeats.
async fn audited_failures(t: &TestServer, admin: &str, user_id: &str) -> i64 {
    let r = t
        .get_auth("/v1/admin/audit?limit=1000", admin)
        .await
        .expect(200);
    r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "login.failure" && e["user_id"] == user_id)
        .map(|e| e["count"].as_i64().unwrap_or(1))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_do_not_slip_past_the_account_backoff() {
    // Real password-hashing cost, so that the guesses overlap as they do
    // against a production server.
    let t = TestServer::start_with(|c| {
        c.argon2_memory_kib = 19_456;
        c.argon2_iterations = 2;
    })
    .await;
    let admin = t.admin("root@x.io").await;
    let victim = t.register("victim@x.io").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = &t.server().state().app.sessions;
    let before = sessions.password_checks();
    // 48 wrong passwords at once: 5 free failures, and the one that starts
    // the backoff; the rest are refused before any password work.
    let answers = futures_join((0..48).map(|_| attempt(&t, "victim@x.io", WRONG)).collect()).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(unauthorized, 6, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert_eq!(sessions.password_checks() - before, 6, "password checks");
    let checked = audited_failures(&t, &admin.tokens.access, &victim).await;
    assert_eq!(checked, 6, "password checks audited");
}

/// Runs the requests concurrently on this task.
async fn futures_join<F: std::future::Future<Output = Resp>>(fs: Vec<F>) -> Vec<Resp> {
    let mut set = Vec::new();
    for f in fs {
        set.push(Box::pin(f));
    }
    let mut out = Vec::with_capacity(set.len());
    let mut pending: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => {
                        out.push(r);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out
}
