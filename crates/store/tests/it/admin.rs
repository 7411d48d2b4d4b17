//! The administration reads and what migration 15 added, on every backend:
//! the audit log's actor and client columns (still append-only), its
//! filters, the hourly counts, user search by email prefix, the users'
//! last-login time, and what a revoked key was.

use crate::{backends, session, stores, user, Raw};
use tessera_store::{AuditEvent, AuditFilter, KeyRecord};

fn row(
    at: i64,
    event: &str,
    user: Option<&str>,
    actor: Option<&str>,
    client: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        at,
        event: event.into(),
        user_id: user.map(str::to_owned),
        actor: actor.map(str::to_owned),
        client_id: client.map(str::to_owned),
        ..AuditEvent::default()
    }
}

#[tokio::test]
async fn audit_rows_keep_actor_and_client_and_filter_by_each() {
    for (_dir, s) in backends().await {
        let rows = [
            row(10, "login.success", Some("u1"), None, None),
            row(20, "roles.changed", Some("u1"), Some("admin1"), None),
            row(30, "client.created", None, Some("cli:root"), Some("app")),
            row(40, "refresh.rotated", Some("u2"), None, Some("app")),
            row(50, "roles.changed", Some("u2"), Some("admin1"), None),
        ];
        for r in &rows {
            s.audit(r).await.unwrap();
        }
        let find = |f: AuditFilter| {
            let s = s.clone();
            async move {
                s.audit_search(&f, 10)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.event.at)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(find(AuditFilter::default()).await, [50, 40, 30, 20, 10]);
        let by_actor = AuditFilter {
            actor: Some("admin1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(find(by_actor.clone()).await, [50, 20]);
        let all = s.audit_search(&by_actor, 10).await.unwrap();
        assert_eq!(all[0].event.actor.as_deref(), Some("admin1"));
        let by_client = AuditFilter {
            client_id: Some("app".into()),
            ..AuditFilter::default()
        };
        assert_eq!(find(by_client).await, [40, 30]);
        let combined = AuditFilter {
            event: Some("roles.changed".into()),
            user_id: Some("u1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(find(combined).await, [20]);
        let window = AuditFilter {
            since: Some(20),
            until: Some(40),
            ..AuditFilter::default()
        };
        assert_eq!(find(window).await, [30, 20]);
        // Paging: below the id of the third newest.
        let newest = s.audit_search(&AuditFilter::default(), 3).await.unwrap();
        let older = AuditFilter {
            before: Some(newest[2].id),
            ..AuditFilter::default()
        };
        assert_eq!(find(older).await, [20, 10]);
        let cli = s
            .audit_search(
                &AuditFilter {
                    actor: Some("cli:root".into()),
                    ..AuditFilter::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(cli[0].event.client_id.as_deref(), Some("app"));
    }
}

#[tokio::test]
async fn audit_counts_are_hourly_back_from_the_end() {
    for (_dir, s) in backends().await {
        let end = 100_000;
        for (at, event, actor) in [
            (end - 10, "login.success", None),
            (end - 20, "login.success", None),
            (end - 3_700, "login.success", None),
            (end - 30, "roles.changed", Some("a")),
            (end - 90_000, "login.success", None),
        ] {
            s.audit(&row(at, event, None, actor, None)).await.unwrap();
        }
        let mut counts = s.audit_counts(end - 86_400, end).await.unwrap();
        counts.sort_by_key(|c| (c.event.clone(), c.hours_ago));
        let got: Vec<_> = counts
            .iter()
            .map(|c| (c.event.as_str(), c.by_actor, c.hours_ago, c.count))
            .collect();
        assert_eq!(
            got,
            [
                ("login.success", false, 0, 2),
                ("login.success", false, 1, 1),
                ("roles.changed", true, 0, 1),
            ]
        );
    }
}

#[tokio::test]
async fn the_new_audit_columns_are_append_only_too() {
    for (_dir, s, raw) in stores().await {
        s.audit(&row(1, "x", None, Some("a"), Some("c")))
            .await
            .unwrap();
        match raw {
            Raw::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                for sql in [
                    "UPDATE audit_log SET actor = 'b'",
                    "UPDATE audit_log SET client_id = 'd'",
                ] {
                    assert!(sqlx::query(sql).execute(&pool).await.is_err(), "{sql}");
                }
                assert!(sqlx::query("DELETE FROM audit_log WHERE id > 0")
                    .execute(&pool)
                    .await
                    .is_ok());
            }
            #[cfg(feature = "postgres")]
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                for set in ["actor = 'b'", "client_id = 'd'"] {
                    let upd = format!("UPDATE {schema}.audit_log SET {set}");
                    assert!(sqlx::query(&upd).execute(&pool).await.is_err(), "{set}");
                }
            }
        }
    }
}

#[tokio::test]
async fn users_are_searched_by_email_prefix_and_counted() {
    for (_dir, s) in backends().await {
        for (id, email) in [
            ("u1", "ada@x.io"),
            ("u2", "adam@x.io"),
            ("u3", "bob@x.io"),
            ("u4", "ad_min@x.io"),
        ] {
            s.create_user(&user(id, email)).await.unwrap();
        }
        let emails =
            |v: Vec<tessera_store::User>| v.into_iter().map(|u| u.email).collect::<Vec<_>>();
        assert_eq!(
            emails(s.search_users("ada", None, 10).await.unwrap()),
            ["ada@x.io", "adam@x.io"]
        );
        assert_eq!(
            emails(s.search_users("ad", Some("ada@x.io"), 1).await.unwrap()),
            ["adam@x.io"]
        );
        // `_` and `%` are plain characters, not patterns.
        assert_eq!(
            emails(s.search_users("ad_", None, 10).await.unwrap()),
            ["ad_min@x.io"]
        );
        assert!(s.search_users("zz", None, 10).await.unwrap().is_empty());
        assert_eq!(s.count_users().await.unwrap(), 4);
        s.delete_user_data("u3", 5).await.unwrap();
        assert_eq!(s.count_users().await.unwrap(), 3);
    }
}

#[tokio::test]
async fn a_new_session_sets_its_users_last_login() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        assert_eq!(
            s.user_by_id("u1").await.unwrap().unwrap().last_login_at,
            None
        );
        let mut one = session("s1", "u1");
        one.created_at = 300;
        s.create_session(&one).await.unwrap();
        let u = s.user_by_id("u1").await.unwrap().unwrap();
        assert_eq!(u.last_login_at, Some(300));
        let (_, with) = s.session_with_user("s1").await.unwrap().unwrap();
        assert_eq!(with.unwrap().last_login_at, Some(300));
        // An older session (a restore, say) does not move it back.
        let mut old = session("s0", "u1");
        old.created_at = 200;
        s.create_session(&old).await.unwrap();
        assert_eq!(
            s.user_by_id("u1").await.unwrap().unwrap().last_login_at,
            Some(300)
        );
    }
}

#[tokio::test]
async fn a_revoked_key_keeps_what_it_was() {
    for (_dir, s) in backends().await {
        let k = KeyRecord {
            kid: "k1".into(),
            alg: "ES256".into(),
            sealed_key: vec![7; 40],
            public_jwk: "{}".into(),
            created_at: 10,
            activates_at: 20,
            retired_at: None,
        };
        s.insert_key(&k).await.unwrap();
        assert!(s.revoke_key("k1", 50).await.unwrap());
        // A kid with no row left (another instance deleted it) is still listed.
        assert!(s.revoke_key("gone", 60).await.unwrap());
        let got = s.revoked_key_records().await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (
                got[0].kid.as_str(),
                got[0].revoked_at,
                got[0].alg.as_deref(),
                got[0].created_at,
                got[0].activates_at
            ),
            ("k1", 50, Some("ES256"), Some(10), Some(20))
        );
        assert_eq!((got[1].kid.as_str(), got[1].alg.as_deref()), ("gone", None));
    }
}
