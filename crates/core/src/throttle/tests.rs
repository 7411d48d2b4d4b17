//! The throttle's rules, on the memory and the shared (SQLite key-value)
//! backends side by side.

use super::*;
use std::sync::Arc;

const IP: Option<&str> = Some("1.2.3.4");

/// A failed attempt, which must be admitted.
async fn fail(l: &Limiter, account: &str, ip: Option<&str>, now: i64) {
    assert!(
        try_fail(l, account, ip, now).await,
        "{account} {ip:?} at {now}"
    );
}

/// A failed attempt if admitted; whether it was.
async fn try_fail(l: &Limiter, account: &str, ip: Option<&str>, now: i64) -> bool {
    match l.begin_login(account, ip, now).await {
        Ok(t) => {
            l.login_failed(t, now).await;
            true
        }
        Err(_) => false,
    }
}

async fn succeed(l: &Limiter, account: &str, ip: Option<&str>, now: i64) -> bool {
    match l.begin_login(account, ip, now).await {
        Ok(t) => {
            l.login_succeeded(t, now).await;
            true
        }
        Err(_) => false,
    }
}

async fn check(l: &Limiter, account: &str, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
    let t = l.begin_login(account, ip, now).await?;
    l.login_abandoned(t, now).await;
    Ok(())
}

async fn backends(cfg: ThrottleConfig) -> (Vec<Limiter>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(None, dir.path()).await.unwrap();
    let shared = Limiter::Shared(SharedThrottle::new(store.into_kv(), cfg));
    (vec![Limiter::Memory(Throttle::new(cfg)), shared], dir)
}

#[tokio::test]
async fn backoff_doubles_resets_on_success_and_is_identical_for_unknown_accounts() {
    let (limiters, _dir) = backends(ThrottleConfig::default()).await;
    for t in &limiters {
        let now = 1_000_000;
        for i in 0..5 {
            fail(t, "a@x.io", Some("1.2.3.4"), now + i).await;
        }
        // The sixth attempt is admitted; its reserved failure blocks.
        fail(t, "a@x.io", None, now + 5).await;
        assert_eq!(check(t, "a@x.io", None, now + 5).await, Err(RetryAfter(1)));
        fail(t, "a@x.io", None, now + 1005).await;
        assert_eq!(
            check(t, "a@x.io", None, now + 1005).await,
            Err(RetryAfter(2))
        );
        fail(t, "a@x.io", None, now + 3005).await;
        assert_eq!(
            check(t, "a@x.io", None, now + 3005).await,
            Err(RetryAfter(4))
        );
        // Another account is untouched.
        assert_eq!(check(t, "b@x.io", None, now + 3005).await, Ok(()));
        // The cap holds.
        for i in 0..60 {
            let at = now + i * 900_000;
            try_fail(t, "c@x.io", None, at).await;
        }
        assert!(check(t, "c@x.io", None, now + 59 * 900_000).await.is_err());
    }
}

#[tokio::test]
async fn a_success_or_an_error_is_no_failure() {
    let (limiters, _dir) = backends(ThrottleConfig::default()).await;
    for t in &limiters {
        let now = 2_000_000;
        // Ten successes and ten abandoned attempts never add up to a block.
        for i in 0..10 {
            assert!(succeed(t, "a@x.io", IP, now + i).await);
            let ticket = t.begin_login("a@x.io", IP, now + i).await.unwrap();
            t.login_abandoned(ticket, now + i).await;
        }
        for i in 0..5 {
            fail(t, "a@x.io", Some("5.5.5.5"), now + 20 + i).await;
        }
        // Past the free failures of the account but not of the IP.
        assert!(succeed(t, "a@x.io", Some("5.5.5.5"), now + 30).await);
        assert_eq!(check(t, "a@x.io", Some("5.5.5.5"), now + 31).await, Ok(()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limit_holds_under_concurrency() {
    let (limiters, _dir) = backends(ThrottleConfig::default()).await;
    for t in limiters {
        let t = Arc::new(t);
        let now = 3_000_000;
        let tasks: Vec<_> = (0..48)
            .map(|i| {
                let t = t.clone();
                tokio::spawn(async move {
                    let ip = format!("10.0.0.{i}");
                    try_fail(&t, "victim@x.io", Some(&ip), now).await
                })
            })
            .collect();
        let mut admitted = 0;
        for task in tasks {
            admitted += usize::from(task.await.unwrap());
        }
        assert_eq!(admitted, 6, "5 free failures and the one that blocks");
    }
}

#[tokio::test]
async fn attempts_in_flight_count_until_settled_or_stale() {
    let (limiters, _dir) = backends(ThrottleConfig::default()).await;
    for t in &limiters {
        let now = 4_000_000;
        // Six attempts in flight, none settled: the seventh waits.
        let mut held = Vec::new();
        for i in 0..6 {
            held.push(t.begin_login("v@x.io", None, now + i).await.unwrap());
        }
        assert_eq!(check(t, "v@x.io", None, now + 10).await, Err(RetryAfter(1)));
        // Settled without a failure, one frees its place.
        if let Some(ticket) = held.pop() {
            t.login_abandoned(ticket, now + 11).await;
        }
        assert_eq!(check(t, "v@x.io", None, now + 12).await, Ok(()));
        // Never settled (dropped), the others stop counting in time.
        drop(held);
        assert!(check(t, "v@x.io", Some("1.1.1.1"), now + 20).await.is_ok());
        let late = now + 20 + IN_FLIGHT_MS;
        for i in 0..6 {
            fail(t, "v@x.io", None, late + i).await;
        }
        assert_eq!(
            check(t, "v@x.io", None, late + 10).await,
            Err(RetryAfter(1))
        );
    }
}

#[tokio::test]
async fn ip_backoff_and_buckets() {
    let (limiters, _dir) = backends(ThrottleConfig {
        register_per_minute: 2,
        ..ThrottleConfig::default()
    })
    .await;
    for t in &limiters {
        let now = 5_000_000;
        for i in 0..51 {
            fail(t, &format!("user{i}@x.io"), Some("9.9.9.9"), now).await;
        }
        assert_eq!(
            check(t, "fresh@x.io", Some("9.9.9.9"), now).await,
            Err(RetryAfter(1))
        );
        assert_eq!(check(t, "fresh@x.io", Some("8.8.8.8"), now).await, Ok(()));

        let r = |ip, at| t.rate(Action::Register, Some(ip), at);
        assert_eq!(r("1.1.1.1", now).await, Ok(()));
        assert_eq!(r("1.1.1.1", now).await, Ok(()));
        assert_eq!(r("1.1.1.1", now).await, Err(RetryAfter(30)));
        assert_eq!(r("2.2.2.2", now).await, Ok(()));
        assert_eq!(r("1.1.1.1", now + 30_000).await, Ok(()));
        assert_eq!(t.rate(Action::Refresh, Some("1.1.1.1"), now).await, Ok(()));
    }
}

#[tokio::test]
async fn a_known_address_skips_the_account_backoff_and_a_new_one_does_not() {
    let (limiters, _dir) = backends(ThrottleConfig::default()).await;
    for t in &limiters {
        let now = 6_000_000;
        // The owner logged in from B (an IPv6 /64) once.
        assert!(succeed(t, "own@x.io", Some("2001:db8:1:2::10"), now).await);
        // An attacker hammers the account from A.
        for i in 0..8 {
            try_fail(t, "own@x.io", Some("192.0.2.66"), now + i).await;
        }
        assert!(check(t, "own@x.io", Some("192.0.2.66"), now + 10)
            .await
            .is_err());
        // A new address is still held back; B (another host of its /64) is not.
        assert!(check(t, "own@x.io", Some("198.51.100.7"), now + 10)
            .await
            .is_err());
        let ticket = t
            .begin_login("own@x.io", Some("2001:db8:1:2::99"), now + 10)
            .await
            .unwrap();
        assert!(ticket.from_known_address());
        t.login_succeeded(ticket, now + 10).await;
        // The owner's success did not reset the attacker's backoff.
        assert!(check(t, "own@x.io", Some("192.0.2.66"), now + 11)
            .await
            .is_err());
        // Known is per account.
        assert!(check(t, "other@x.io", Some("2001:db8:1:2::10"), now)
            .await
            .is_ok());
        let fresh = t
            .begin_login("other@x.io", Some("2001:db8:1:2::10"), now)
            .await;
        assert!(!fresh.unwrap().from_known_address());
    }
}

#[tokio::test]
async fn an_unlock_clears_the_account_even_from_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(None, dir.path()).await.unwrap();
    let cfg = ThrottleConfig::default();
    let server = Limiter::Memory(Throttle::new(cfg).with_unlocks(store.clone().into_kv()));
    let cli = Limiter::Memory(Throttle::new(cfg).with_unlocks(store.clone().into_kv()));
    let shared = Limiter::Shared(SharedThrottle::new(store.into_kv(), cfg));
    let now = 8_000_000;
    for t in [&server, &shared] {
        for i in 0..7 {
            try_fail(t, "x@y.io", Some("7.7.7.7"), now + i).await;
        }
        assert!(check(t, "x@y.io", Some("6.6.6.6"), now + 10).await.is_err());
    }
    cli.unlock("x@y.io", now + 20).await.unwrap();
    assert_eq!(
        check(&server, "x@y.io", Some("6.6.6.6"), now + 21).await,
        Ok(())
    );
    // The note does not clear failures made after it.
    for i in 0..7 {
        try_fail(&server, "x@y.io", None, now + 30 + i).await;
    }
    assert!(check(&server, "x@y.io", None, now + 40).await.is_err());
    // The shared state is cleared directly.
    shared.unlock("x@y.io", now + 50).await.unwrap();
    assert_eq!(
        check(&shared, "x@y.io", Some("6.6.6.6"), now + 51).await,
        Ok(())
    );
}

#[tokio::test]
async fn shared_state_spans_instances() {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(None, dir.path()).await.unwrap();
    let cfg = ThrottleConfig::default();
    let kv: Arc<dyn tessera_store::Kv> = store.into_kv();
    let a = Limiter::Shared(SharedThrottle::new(kv.clone(), cfg));
    let b = Limiter::Shared(SharedThrottle::new(kv, cfg));
    let now = 9_000_000;
    for i in 0..6 {
        fail(if i % 2 == 0 { &a } else { &b }, "x@y.io", IP, now + i).await;
    }
    assert!(
        check(&b, "x@y.io", None, now + 10).await.is_err(),
        "B sees A's"
    );
    assert!(check(&a, "x@y.io", None, now + 10).await.is_err());
}

#[test]
fn tables_stay_bounded_when_every_address_is_new_within_a_minute() {
    let t = Throttle::new(ThrottleConfig::default());
    let now = 7_000_000;
    // More distinct addresses than the table keeps, all within one
    // minute (so none is stale): the table must still stay bounded.
    for i in 0..(MAX_KEYS + 5_000) {
        let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        let at = now + i64::try_from(i / 10).unwrap_or(0);
        assert_eq!(t.rate(Action::Register, Some(&ip), at), Ok(()));
        let mut ticket = LoginTicket {
            account: "x@x.io".into(),
            ip: Some(ip),
            known_key: None,
            known: true,
            known_fresh: true,
            account_reserved: false,
            ip_reserved: false,
        };
        let _ = t.begin_login(&mut ticket, at);
    }
    assert!(t.buckets.lock().unwrap().len() <= MAX_KEYS);
    assert!(t.ips.lock().unwrap().len() <= MAX_KEYS);
    // The newest address is still remembered.
    let last = MAX_KEYS + 5_000 - 1;
    let ip = format!("10.{}.{}.{}", last >> 16, (last >> 8) & 255, last & 255);
    assert!(t
        .buckets
        .lock()
        .unwrap()
        .contains_key(&(Action::Register as u8, ip)));
}

#[tokio::test]
async fn the_mail_buckets_refill_over_their_own_windows() {
    let (limiters, _dir) = backends(ThrottleConfig {
        mail_per_account_per_hour: 2,
        mail_per_ip_per_minute: 1,
        ..ThrottleConfig::default()
    })
    .await;
    for t in &limiters {
        let now = 9_000_000;
        let acct = |at| t.rate(Action::MailPerAccount, Some("a@x.io"), at);
        assert_eq!(acct(now).await, Ok(()));
        assert_eq!(acct(now).await, Ok(()));
        // One token comes back every 30 minutes, not every 30 seconds.
        let about = |r: Result<(), RetryAfter>, secs: u64| matches!(r, Err(RetryAfter(s)) if s.abs_diff(secs) <= 1);
        assert!(about(acct(now + 60_000).await, 1740));
        assert_eq!(acct(now + 1_801_000).await, Ok(()));
        // A bucket idle for a minute is not forgotten early (memory table).
        assert!(about(acct(now + 1_860_000).await, 1740));
        // Per account and per IP are separate buckets.
        let ip = |at| t.rate(Action::MailPerIp, Some("a@x.io"), at);
        assert_eq!(ip(now).await, Ok(()));
        assert_eq!(ip(now).await, Err(RetryAfter(60)));
        assert_eq!(ip(now + 60_000).await, Ok(()));
    }
}
