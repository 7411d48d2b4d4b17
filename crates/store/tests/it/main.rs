//! Store contract tests. Each test runs against every backend available:
//! SQLite always, PostgreSQL when `TESSERA_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use tessera_store::{AuditEvent, KeyRecord, Rotation, Session, Store, StoreError, User};

mod admin;
mod audit_and_feed;
mod lifecycle;
mod mfa;
mod passkeys;

/// Where a backend lives, for tests that need a raw connection.
enum Raw {
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        schema: String,
    },
}

/// SQLite always; PostgreSQL when `TESSERA_TEST_POSTGRES_URL` is set, in a
/// fresh schema per call so tests do not see each other's rows.
async fn stores() -> Vec<(tempfile::TempDir, Arc<dyn Store>, Raw)> {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(None, dir.path()).await.unwrap();
    let mut out = vec![(dir, store, Raw::Sqlite(std::path::PathBuf::new()))];
    if let Some(p) = out.first_mut() {
        p.2 = Raw::Sqlite(p.0.path().join("tessera.db"));
    }
    #[cfg(feature = "postgres")]
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) => {
            let bytes = tessera_jose::crypto::random_bytes(6).unwrap();
            let schema = format!(
                "t_{}",
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
            let pg = tessera_store::PgStore::open_in_schema(
                &url,
                Some(&schema),
                tessera_store::PgPoolSettings::default(),
            )
            .await
            .unwrap();
            out.push((
                tempfile::tempdir().unwrap(),
                Arc::new(pg),
                Raw::Postgres { url, schema },
            ));
        }
        Err(_) => skipped("PostgreSQL backend"),
    }
    out
}

/// Says a part was skipped, past the test harness's output capture.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {what} (set TESSERA_TEST_POSTGRES_URL to run it)"
    );
}

async fn backends() -> Vec<(tempfile::TempDir, Arc<dyn Store>)> {
    stores().await.into_iter().map(|(d, s, _)| (d, s)).collect()
}

fn user(id: &str, email: &str) -> User {
    User {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
        roles: vec!["user".into()],
        created_at: 100,
        email_verified_at: None,
        disabled_at: None,
        last_login_at: None,
    }
}

fn session(id: &str, user_id: &str) -> Session {
    Session {
        id: id.into(),
        user_id: user_id.into(),
        created_at: 100,
        last_used_at: 100,
        expires_at: 1000,
        idle_expires_at: 500,
        revoked_at: None,
        revoked_reason: None,
        user_agent: Some("curl/8".into()),
        ip: Some("127.0.0.1".into()),
        generation: 0,
        token_hash: vec![1; 32],
        rotated_at: None,
        client_id: None,
        rotated_by: None,
        dpop_jkt: None,
        scope: Some("openid email".into()),
        sso_id: Some("sso-1".into()),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        auth_time: Some(1_699_999_990),
    }
}

#[tokio::test]
async fn users_are_unique_by_email_and_roles_update() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        let dup = s.create_user(&user("u2", "a@x.io")).await;
        assert!(matches!(dup, Err(StoreError::Conflict)), "{dup:?}");
        assert_eq!(s.user_by_email("a@x.io").await.unwrap().unwrap().id, "u1");
        assert!(s.user_by_email("b@x.io").await.unwrap().is_none());
        let dbg = format!("{:?}", s.user_by_id("u1").await.unwrap().unwrap());
        assert!(
            !dbg.contains("argon2"),
            "Debug hides the password hash: {dbg}"
        );
        assert!(s.set_roles("u1", &["admin".into()]).await.unwrap());
        assert!(!s.set_roles("nope", &["admin".into()]).await.unwrap());
        assert_eq!(s.user_by_id("u1").await.unwrap().unwrap().roles, ["admin"]);
        s.create_user(&user("u3", "c@x.io")).await.unwrap();
        let page = s.list_users(None, 1).await.unwrap();
        assert_eq!(page.len(), 1);
        let next = s.list_users(Some(&page[0].email), 10).await.unwrap();
        assert_eq!(
            next.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            ["u3"]
        );
    }
}

#[tokio::test]
async fn an_import_batch_skips_existing_emails_and_keeps_every_field() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        let mut b = user("u2", "b@x.io");
        b.email_verified_at = Some(120);
        b.disabled_at = Some(130);
        b.password_hash = "$2b$04$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
        let batch = [user("u9", "a@x.io"), b.clone(), user("u3", "b@x.io")];
        assert_eq!(s.import_users(&batch).await.unwrap(), [false, true, false]);
        let got = s.user_by_email("b@x.io").await.unwrap().unwrap();
        assert_eq!(
            (
                got.id,
                got.password_hash,
                got.email_verified_at,
                got.disabled_at
            ),
            (b.id, b.password_hash, Some(120), Some(130))
        );
        assert_eq!(s.user_by_email("a@x.io").await.unwrap().unwrap().id, "u1");
        assert!(s.user_by_id("u9").await.unwrap().is_none());
        assert_eq!(s.import_users(&[]).await.unwrap(), Vec::<bool>::new());
    }
}

#[tokio::test]
async fn rotation_is_a_compare_and_swap() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.create_session(&session("s1", "u1")).await.unwrap();
        let r = |gen, old: &'static [u8], new: &'static [u8]| Rotation {
            session_id: "s1",
            expected_generation: gen,
            expected_hash: old,
            new_hash: new,
            now: 150,
            idle_expires_at: 650,
            rotated_by: None,
            audit: None,
        };
        assert!(s.rotate_session(&r(0, &[1; 32], &[2; 32])).await.unwrap());
        // The same expectation loses the second time.
        assert!(!s.rotate_session(&r(0, &[1; 32], &[3; 32])).await.unwrap());
        // A wrong hash at the right generation loses.
        assert!(!s.rotate_session(&r(1, &[9; 32], &[3; 32])).await.unwrap());
        let got = s.session("s1").await.unwrap().unwrap();
        assert_eq!((got.generation, got.token_hash.clone()), (1, vec![2; 32]));
        assert_eq!((got.rotated_at, got.idle_expires_at), (Some(150), 650));
        // A revoked session never rotates.
        assert!(s.revoke_session("s1", 160, "logout").await.unwrap());
        assert!(!s.revoke_session("s1", 161, "logout").await.unwrap());
        assert!(!s.rotate_session(&r(1, &[2; 32], &[3; 32])).await.unwrap());
    }
}

/// Migration 0007: a session's OAuth client and the fingerprint of the
/// client that rotated last, on both write paths of the rotation.
#[tokio::test]
async fn sessions_keep_their_client_and_last_rotator() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        let mut one = session("s1", "u1");
        one.client_id = Some("app".into());
        s.create_session(&one).await.unwrap();
        let got = s.session("s1").await.unwrap().unwrap();
        assert_eq!(
            (got.client_id.as_deref(), got.rotated_by),
            (Some("app"), None)
        );
        let event = AuditEvent {
            at: 150,
            event: "refresh.rotated".into(),
            user_id: Some("u1".into()),
            session_id: Some("s1".into()),
            ip: None,
            user_agent: None,
            detail: None,
            actor: None,
            client_id: Some("app".into()),
        };
        for (gen, old, new, fp, audit) in [
            (0, [1u8; 32], [2u8; 32], [7u8; 32], None),
            (1, [2u8; 32], [3u8; 32], [8u8; 32], Some(&event)),
        ] {
            let r = Rotation {
                session_id: "s1",
                expected_generation: gen,
                expected_hash: &old,
                new_hash: &new,
                now: 150,
                idle_expires_at: 650,
                rotated_by: Some(&fp),
                audit,
            };
            assert!(s.rotate_session(&r).await.unwrap());
            let (got, _) = s.session_with_user("s1").await.unwrap().unwrap();
            assert_eq!(got.rotated_by, Some(fp.to_vec()));
            assert_eq!(got.client_id.as_deref(), Some("app"));
        }
    }
}

#[tokio::test]
async fn audited_rotation_commits_its_audit_row_only_when_it_wins() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.create_session(&session("s1", "u1")).await.unwrap();
        let event = |detail: &str| AuditEvent {
            at: 150,
            event: "refresh.rotated".into(),
            user_id: Some("u1".into()),
            session_id: Some("s1".into()),
            ip: Some("192.0.2.1".into()),
            user_agent: None,
            detail: Some(detail.into()),
            ..AuditEvent::default()
        };
        let (won, lost, late) = (event("won"), event("lost"), event("revoked"));
        let r = |gen, old: &'static [u8], new: &'static [u8], audit| Rotation {
            session_id: "s1",
            expected_generation: gen,
            expected_hash: old,
            new_hash: new,
            now: 150,
            idle_expires_at: 650,
            rotated_by: None,
            audit: Some(audit),
        };
        assert!(s
            .rotate_session(&r(0, &[1; 32], &[2; 32], &won))
            .await
            .unwrap());
        // Lost compare-and-swaps (stale generation, wrong hash) write nothing.
        assert!(!s
            .rotate_session(&r(0, &[1; 32], &[3; 32], &lost))
            .await
            .unwrap());
        assert!(!s
            .rotate_session(&r(1, &[9; 32], &[3; 32], &lost))
            .await
            .unwrap());
        let got = s.session("s1").await.unwrap().unwrap();
        assert_eq!((got.generation, got.token_hash.clone()), (1, vec![2; 32]));
        assert_eq!((got.last_used_at, got.idle_expires_at), (150, 650));
        assert!(s.revoke_session("s1", 160, "logout").await.unwrap());
        assert!(!s
            .rotate_session(&r(1, &[2; 32], &[3; 32], &late))
            .await
            .unwrap());
        let log = s.audit_after(0, 10).await.unwrap();
        let events: Vec<_> = log.iter().map(|a| a.event.clone()).collect();
        assert_eq!(
            events,
            std::slice::from_ref(&won),
            "only the winning rotation is audited"
        );
        // The connection is usable (no transaction left open) for the next writer.
        s.create_session(&session("s2", "u1")).await.unwrap();
        assert!(s.session("s2").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn session_with_user_joins_the_account() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        assert!(s.set_roles("u1", &["admin".into()]).await.unwrap());
        s.create_session(&session("s1", "u1")).await.unwrap();
        let (got, u) = s.session_with_user("s1").await.unwrap().unwrap();
        assert_eq!(got, s.session("s1").await.unwrap().unwrap());
        let u = u.expect("the user exists");
        assert_eq!(u, s.user_by_id("u1").await.unwrap().unwrap());
        assert!(s.session_with_user("nope").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn sessions_list_and_revoke_by_user() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.create_user(&user("u2", "b@x.io")).await.unwrap();
        s.create_session(&session("s1", "u1")).await.unwrap();
        s.create_session(&session("s2", "u1")).await.unwrap();
        s.create_session(&session("s3", "u2")).await.unwrap();
        assert_eq!(s.live_sessions("u1", 200).await.unwrap().len(), 2);
        assert_eq!(s.count_live_sessions(200).await.unwrap(), 3);
        assert_eq!(s.count_live_sessions(600).await.unwrap(), 0);
        assert_eq!(
            s.live_sessions("u1", 600).await.unwrap().len(),
            0,
            "idle-expired"
        );
        let mut ids = s
            .revoke_user_sessions("u1", 210, "logout-all")
            .await
            .unwrap();
        ids.sort();
        assert_eq!(ids, ["s1", "s2"]);
        assert!(s.live_sessions("u1", 220).await.unwrap().is_empty());
        assert_eq!(s.live_sessions("u2", 220).await.unwrap().len(), 1);
        assert_eq!(s.purge_sessions(2000).await.unwrap(), 3);
    }
}

#[tokio::test]
async fn keys_and_audit() {
    for (_dir, s) in backends().await {
        let k = KeyRecord {
            kid: "k1".into(),
            alg: "ES256".into(),
            sealed_key: vec![7; 40],
            public_jwk: "{}".into(),
            created_at: 1,
            activates_at: 1,
            retired_at: None,
        };
        s.insert_key(&k).await.unwrap();
        s.retire_key("k1", 5).await.unwrap();
        assert_eq!(s.keys().await.unwrap()[0].retired_at, Some(5));
        s.delete_key("k1").await.unwrap();
        assert!(s.keys().await.unwrap().is_empty());

        for i in 0..5 {
            s.audit(&AuditEvent {
                at: i,
                event: format!("e{i}"),
                ..AuditEvent::default()
            })
            .await
            .unwrap();
        }
        let first = s.audit_after(0, 2).await.unwrap();
        assert_eq!(
            first
                .iter()
                .map(|r| r.event.event.as_str())
                .collect::<Vec<_>>(),
            ["e0", "e1"]
        );
        let newest = s.audit_before(None, 2).await.unwrap();
        assert_eq!(newest[0].event.event, "e4");
        let older = s.audit_before(Some(newest[1].id), 10).await.unwrap();
        assert_eq!(older.len(), 3);
    }
}

#[tokio::test]
async fn a_revoked_key_never_loads_again() {
    for (_dir, s) in backends().await {
        let key = |kid: &str| KeyRecord {
            kid: kid.into(),
            alg: "ES256".into(),
            sealed_key: vec![7; 40],
            public_jwk: "{}".into(),
            created_at: 1,
            activates_at: 1,
            retired_at: None,
        };
        s.insert_key(&key("k1")).await.unwrap();
        s.insert_key(&key("k2")).await.unwrap();
        assert!(s.revoke_key("k1", 50).await.unwrap());
        let kids: Vec<String> = s.keys().await.unwrap().into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, ["k2"]);
        assert_eq!(s.revoked_keys().await.unwrap(), [("k1".to_owned(), 50)]);
        // Twice: already revoked, the first time stands.
        assert!(!s.revoke_key("k1", 60).await.unwrap());
        assert_eq!(s.revoked_keys().await.unwrap(), [("k1".to_owned(), 50)]);
        // A kid whose row is already gone (pruned by another instance) is
        // still recorded, so followers hear of it.
        assert!(s.revoke_key("k0", 70).await.unwrap());
        assert_eq!(
            s.revoked_keys().await.unwrap(),
            [("k1".to_owned(), 50), ("k0".to_owned(), 70)]
        );
        // Even if its row came back (a restore, a racing writer), it stays out.
        s.insert_key(&key("k1")).await.unwrap();
        let kids: Vec<String> = s.keys().await.unwrap().into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, ["k2"]);
    }
}

#[tokio::test]
async fn clients_and_token_denylist() {
    use tessera_store::Client;
    for (_dir, s) in backends().await {
        let c = Client {
            id: "svc".into(),
            secret_hash: vec![3; 32],
            scopes: vec!["read:x".into()],
            grants: vec!["client_credentials".into()],
            created_at: 1,
            require_dpop: true,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            public: false,
            first_party: true,
            id_token_alg: Some("ES256".into()),
            id_token_enc_alg: Some("RSA-OAEP-256".into()),
            id_token_enc_enc: Some("A128CBC-HS256".into()),
            jwks: Some(r#"{"keys":[]}"#.into()),
        };
        s.create_client(&c).await.unwrap();
        assert!(matches!(
            s.create_client(&c).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(s.client("svc").await.unwrap().unwrap(), c);
        assert!(
            !format!("{c:?}").contains("3, 3"),
            "Debug hides the secret hash"
        );
        assert_eq!(s.clients().await.unwrap().len(), 1);
        assert!(s.delete_client("svc").await.unwrap());
        assert!(!s.delete_client("svc").await.unwrap());
        assert!(s.client("svc").await.unwrap().is_none());

        assert!(!s.is_token_revoked("j1").await.unwrap());
        s.revoke_token("j1", 100).await.unwrap();
        s.revoke_token("j1", 100).await.unwrap();
        assert!(s.is_token_revoked("j1").await.unwrap());
        s.revoke_token("j0", 200).await.unwrap();
        s.revoke_token("j2", 100).await.unwrap();
        let listed = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(j, e)| (j.to_string(), *e)).collect()
        };
        assert_eq!(
            s.revoked_tokens(100).await.unwrap(),
            listed(&[("j1", 100), ("j2", 100), ("j0", 200)])
        );
        assert_eq!(s.revoked_tokens(101).await.unwrap(), listed(&[("j0", 200)]));
        assert_eq!(s.purge_revoked_tokens(101).await.unwrap(), 2);
        assert_eq!(s.revoked_tokens(0).await.unwrap(), listed(&[("j0", 200)]));
        assert!(!s.is_token_revoked("j1").await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_have_one_winner() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.create_session(&session("s1", "u1")).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..16u8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let new = [i + 10; 32];
                s.rotate_session(&Rotation {
                    session_id: "s1",
                    expected_generation: 0,
                    expected_hash: &[1; 32],
                    new_hash: &new,
                    now: 150,
                    idle_expires_at: 650,
                    rotated_by: None,
                    audit: None,
                })
                .await
                .unwrap()
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1);
        assert_eq!(s.session("s1").await.unwrap().unwrap().generation, 1);
    }
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn migrations_are_idempotent_and_race_free() {
    let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        skipped("PostgreSQL migration race");
        return;
    };
    let bytes = tessera_jose::crypto::random_bytes(6).unwrap();
    let schema = format!(
        "t_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    // Four "instances" (each its own thread and runtime) migrate one schema at once.
    let mut threads = Vec::new();
    for _ in 0..4 {
        let (url, schema) = (url.clone(), schema.clone());
        threads.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(tessera_store::PgStore::open_in_schema(
                &url,
                Some(&schema),
                tessera_store::PgPoolSettings::default(),
            ))
            .map(|_| ())
        }));
    }
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {schema}.schema_migrations"))
        .fetch_one(&pool)
        .await
        .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(n, files as i64, "every migration applied exactly once");
}

#[tokio::test]
async fn leases_have_one_holder_until_they_expire() {
    for (_dir, s) in backends().await {
        assert!(s.try_lease("rotate", "a", 100, 60).await.unwrap());
        assert!(
            !s.try_lease("rotate", "b", 120, 60).await.unwrap(),
            "held by a"
        );
        assert!(
            s.try_lease("rotate", "a", 130, 60).await.unwrap(),
            "a renews"
        );
        assert!(!s.try_lease("rotate", "b", 189, 60).await.unwrap());
        assert!(
            s.try_lease("rotate", "b", 190, 60).await.unwrap(),
            "expired: b takes it"
        );
        assert!(
            s.try_lease("other", "a", 190, 60).await.unwrap(),
            "leases are per name"
        );
    }
}

#[tokio::test]
async fn kv_is_a_versioned_compare_and_swap_with_expiry() {
    for (_dir, s) in backends().await {
        assert_eq!(s.kv_get("k", 100).await.unwrap(), None);
        assert!(s.kv_put("k", None, b"one", 200, 100).await.unwrap());
        assert!(
            !s.kv_put("k", None, b"dup", 200, 100).await.unwrap(),
            "exists"
        );
        let (v, ver) = s.kv_get("k", 100).await.unwrap().unwrap();
        assert_eq!(v, b"one");
        assert!(s.kv_put("k", Some(ver), b"two", 200, 100).await.unwrap());
        assert!(
            !s.kv_put("k", Some(ver), b"stale", 200, 100).await.unwrap(),
            "stale version"
        );
        assert_eq!(s.kv_get("k", 100).await.unwrap().unwrap().0, b"two");
        // Expired values read as absent and can be created afresh.
        assert_eq!(s.kv_get("k", 200).await.unwrap(), None);
        assert!(s.kv_put("k", None, b"new", 300, 250).await.unwrap());
        assert_eq!(s.kv_get("k", 260).await.unwrap().unwrap().0, b"new");
        s.kv_delete("k").await.unwrap();
        assert_eq!(s.kv_get("k", 260).await.unwrap(), None);
        assert!(s.kv_put("x", None, b"x", 10, 0).await.unwrap());
        assert_eq!(s.kv_purge(10).await.unwrap(), 1);
    }
}

/// The shared-throttle key-value: in each database backend, and in Redis
/// when `TESSERA_TEST_REDIS_URL` is set.
#[cfg(feature = "redis")]
#[tokio::test]
async fn kv_backends_agree() {
    use tessera_store::{Kv, RedisKv};
    let mut kvs: Vec<(Arc<dyn Kv>, tempfile::TempDir)> = Vec::new();
    for (dir, s) in backends().await {
        kvs.push((s.into_kv(), dir));
    }
    match std::env::var("TESSERA_TEST_REDIS_URL") {
        Ok(url) => {
            let bytes = tessera_jose::crypto::random_bytes(6).unwrap();
            let prefix = format!(
                "t{}:",
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
            kvs.push((
                Arc::new(RedisKv::connect(&url, &prefix).await.unwrap()),
                tempfile::tempdir().unwrap(),
            ));
        }
        Err(_) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: Redis key-value (set TESSERA_TEST_REDIS_URL to run it)"
            );
        }
    }
    // Redis expires by wall clock, so times here are real milliseconds.
    let now = tessera_jose::Clock::now_millis(&tessera_jose::SystemClock);
    for (kv, _dir) in &kvs {
        assert_eq!(kv.kv_get("k", now).await.unwrap(), None);
        assert!(kv
            .kv_put("k", None, b"one", now + 60_000, now)
            .await
            .unwrap());
        assert!(!kv
            .kv_put("k", None, b"dup", now + 60_000, now)
            .await
            .unwrap());
        let (v, ver) = kv.kv_get("k", now).await.unwrap().unwrap();
        assert_eq!(v, b"one");
        assert!(kv
            .kv_put("k", Some(ver), b"two", now + 60_000, now)
            .await
            .unwrap());
        assert!(!kv
            .kv_put("k", Some(ver), b"stale", now + 60_000, now)
            .await
            .unwrap());
        assert_eq!(kv.kv_get("k", now).await.unwrap().unwrap().0, b"two");
        kv.kv_delete("k").await.unwrap();
        assert_eq!(kv.kv_get("k", now).await.unwrap(), None);
    }
}

/// An unreachable database is "unavailable" (retry may help), and the
/// driver's error is kept as the source.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn an_unreachable_database_is_unavailable_with_its_cause() {
    use std::error::Error as _;
    let dir = tempfile::tempdir().unwrap();
    let settings = tessera_store::PgPoolSettings {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let url = "postgres://nobody@127.0.0.1:1/none";
    let Err(err) = tessera_store::open_with(Some(url), dir.path(), settings).await else {
        panic!("nothing listens on port 1");
    };
    assert!(err.is_unavailable(), "{err}");
    assert!(
        err.source().is_some_and(|s| s.is::<sqlx::Error>()),
        "{err:?}"
    );
}

/// An embedded-only build refuses PostgreSQL URLs with a clear error.
#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn postgres_urls_need_the_postgres_feature() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://nobody@127.0.0.1/none";
    let Err(err) = tessera_store::open(Some(url), dir.path()).await else {
        panic!("opened a PostgreSQL URL without the feature");
    };
    assert!(matches!(err, StoreError::Config(_)), "{err}");
    assert!(err.to_string().contains("`postgres`"), "{err}");
    assert!(!err.is_unavailable());
}

#[tokio::test]
async fn client_update_codes_and_consents() {
    use tessera_store::{AuthCode, Client, CodeUse};
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@example.com")).await.unwrap();
        let mut c = Client {
            id: "spa".into(),
            secret_hash: vec![],
            scopes: vec![],
            grants: vec!["authorization_code".into()],
            created_at: 1,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec!["https://app.example/".into()],
            public: true,
            first_party: false,
            id_token_alg: None,
            require_dpop: true,
            id_token_enc_alg: None,
            id_token_enc_enc: None,
            jwks: None,
        };
        s.create_client(&c).await.unwrap();
        assert_eq!(s.client("spa").await.unwrap().unwrap(), c);
        c.first_party = true;
        c.require_dpop = false;
        c.redirect_uris.push("http://127.0.0.1/cb".into());
        assert!(s.update_client(&c).await.unwrap());
        assert_eq!(s.client("spa").await.unwrap().unwrap(), c);
        let mut other = c.clone();
        other.id = "nobody".into();
        assert!(!s.update_client(&other).await.unwrap());

        let code = AuthCode {
            code_hash: vec![7; 32],
            client_id: "spa".into(),
            user_id: "u1".into(),
            data: "{}".into(),
            created_at: 10,
            expires_at: 70,
            used_at: None,
            session_id: None,
        };
        s.insert_code(&code).await.unwrap();
        assert_eq!(
            s.use_code(&[8; 32], 20, Some("sid-0")).await.unwrap(),
            CodeUse::Unknown
        );
        let CodeUse::Fresh(first) = s.use_code(&[7; 32], 20, Some("sid-1")).await.unwrap() else {
            panic!("first use must be fresh");
        };
        assert_eq!(first.used_at, Some(20));
        assert_eq!(first.session_id.as_deref(), Some("sid-1"));
        assert_eq!(first.data, "{}");
        // A replay neither wins nor moves the session it names.
        let CodeUse::Replayed(again) = s.use_code(&[7; 32], 21, Some("sid-2")).await.unwrap()
        else {
            panic!("second use must be a replay");
        };
        assert_eq!(again.session_id.as_deref(), Some("sid-1"));
        assert_eq!(again.used_at, Some(20));
        s.set_code_session(&[7; 32], "sid-3").await.unwrap();
        let CodeUse::Replayed(third) = s.use_code(&[7; 32], 22, None).await.unwrap() else {
            panic!("third use must be a replay");
        };
        assert_eq!(third.session_id.as_deref(), Some("sid-3"));
        assert_eq!(s.purge_codes(71).await.unwrap(), 1);
        assert_eq!(
            s.use_code(&[7; 32], 80, None).await.unwrap(),
            CodeUse::Unknown
        );

        let scopes = vec!["email".to_owned(), "openid".to_owned()];
        s.grant_consent("u1", "spa", &scopes, 5).await.unwrap();
        s.grant_consent("u1", "spa", &scopes, 6).await.unwrap();
        let got = s.consents("u1").await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].scope, "email");
        assert_eq!(got[0].granted_at, 5);
        assert_eq!(s.revoke_consent("u1", "spa").await.unwrap(), 2);
        assert!(s.consents("u1").await.unwrap().is_empty());
    }
}
