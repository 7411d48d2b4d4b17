//! The audit log's entries (fixed but for their count), their folding and
//! retention, and the revocation feed's keyset paging, on every backend.

use crate::{backends, session, stores, user, Raw};
use tessera_store::AuditEvent;

#[tokio::test]
async fn audit_entries_never_change_but_their_count() {
    for (_dir, s, raw) in stores().await {
        s.audit(&AuditEvent {
            at: 1,
            event: "x".into(),
            ..AuditEvent::default()
        })
        .await
        .unwrap();
        match raw {
            Raw::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                for sql in [
                    "UPDATE audit_log SET event = 'y'",
                    "UPDATE audit_log SET at = 2",
                    "UPDATE audit_log SET detail = 'z'",
                ] {
                    assert!(sqlx::query(sql).execute(&pool).await.is_err(), "{sql}");
                }
                let bump = "UPDATE audit_log SET count = 2, last_at = 3";
                sqlx::query(bump).execute(&pool).await.unwrap();
            }
            #[cfg(feature = "postgres")]
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                for set in ["event = 'y'", "at = 2", "detail = 'z'", "id = 9"] {
                    let upd = format!("UPDATE {schema}.audit_log SET {set}");
                    assert!(sqlx::query(&upd).execute(&pool).await.is_err(), "{set}");
                }
                let bump = format!("UPDATE {schema}.audit_log SET count = 2, last_at = 3");
                sqlx::query(&bump).execute(&pool).await.unwrap();
            }
        }
        let row = &s.audit_after(0, 10).await.unwrap()[0];
        assert_eq!(
            (row.event.event.as_str(), row.count, row.last_at),
            ("x", 2, Some(3))
        );
    }
}

#[tokio::test]
async fn repeated_audit_events_fold_into_one_entry_per_window_and_retention_purges() {
    for (_dir, s) in backends().await {
        let failure = |at: i64, user: Option<&str>, ip: &str| AuditEvent {
            at,
            event: "login.failure".into(),
            user_id: user.map(str::to_owned),
            ip: Some(ip.into()),
            ..AuditEvent::default()
        };
        // 50 failures within the window: one entry from each (user, IP).
        for i in 0..50 {
            let at = 1_000 + i;
            s.audit_repeated(&failure(at, Some("u1"), "10.0.0.1"), at - 3600)
                .await
                .unwrap();
            s.audit_repeated(&failure(at, None, "10.0.0.1"), at - 3600)
                .await
                .unwrap();
            s.audit_repeated(&failure(at, Some("u1"), "10.0.0.2"), at - 3600)
                .await
                .unwrap();
        }
        let rows = s.audit_after(0, 100).await.unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        for r in &rows {
            assert_eq!((r.event.at, r.count, r.last_at), (1_000, 50, Some(1_049)));
        }
        // Past the window, a new entry starts.
        s.audit_repeated(&failure(5_000, Some("u1"), "10.0.0.1"), 5_000 - 3600)
            .await
            .unwrap();
        let rows = s.audit_after(0, 100).await.unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!((rows[3].event.at, rows[3].count), (5_000, 1));
        // Retention goes by the last occurrence.
        assert_eq!(s.purge_audit(1_049).await.unwrap(), 0);
        assert_eq!(s.purge_audit(1_050).await.unwrap(), 3);
        let left = s.audit_after(0, 100).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].event.at, 5_000);
    }
}

#[tokio::test]
async fn the_feed_keyset_pages_through_more_revocations_in_one_second_than_a_page() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        let mut expected = Vec::new();
        for i in 0..25 {
            let id = format!("s{i:02}");
            s.create_session(&session(&id, "u1")).await.unwrap();
            let at = if i < 23 { 200 } else { 201 };
            assert!(s.revoke_session(&id, at, "logout").await.unwrap());
            expected.push((id, at));
        }
        let first = s.revocations_since(200, 10).await.unwrap();
        assert_eq!(first, expected[..10]);
        let mut got = first;
        while let Some((sid, at)) = got.last().cloned() {
            let next = s.revocations_after((at, &sid), 10).await.unwrap();
            if next.is_empty() {
                break;
            }
            assert!(next.len() <= 10);
            got.extend(next);
        }
        assert_eq!(got, expected, "every entry once, in order");
    }
}
