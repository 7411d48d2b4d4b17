//! The statements behind the administration reads (the console's API):
//! user search by email prefix, the filtered audit log, the overview's
//! hourly counts and the revoked keys. The role implementations in
//! [`super::roles`] call these.

use super::exec::{Arg, Exec, RowExt};
use super::rows::{self, cols};
use super::SqlBackend;
use crate::{AuditCount, AuditFilter, AuditRecord, Result, RevokedKeyRecord, User};

/// Users whose email starts with `prefix`, after `after`, by email. The
/// range condition lets the email index start at the prefix; `substr`
/// decides (the same in both dialects, counted in characters).
pub(crate) async fn search_users<B: SqlBackend>(
    b: &B,
    prefix: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<User>> {
    let sql = concat!(
        "SELECT ",
        cols!(user),
        " FROM users WHERE email > $1 AND email >= $2 \
         AND substr(email, 1, CAST($3 AS INTEGER)) = $2 AND deleted_at IS NULL \
         ORDER BY email LIMIT $4"
    );
    let chars = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
    let values = [
        Arg::Str(after.unwrap_or("")),
        Arg::Str(prefix),
        Arg::I64(chars),
        Arg::I64(i64::from(limit)),
    ];
    let found = b.pool().fetch_all(sql, &values).await;
    found
        .and_then(|r| rows::all(r, rows::user))
        .map_err(B::error)
}

/// Accounts that are not deleted.
pub(crate) async fn count_users<B: SqlBackend>(b: &B) -> Result<i64> {
    let row = b
        .pool()
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM users WHERE deleted_at IS NULL",
            &[],
        )
        .await;
    row.and_then(|r| r.map_or(Ok(0), |r| r.int("n")))
        .map_err(B::error)
}

/// The audit rows matching every condition of `f`, newest first. Each
/// filter column has an index that pages by id (`audit_by_event`,
/// `audit_by_user`, `audit_by_client`, `audit_by_actor`).
pub(crate) async fn audit_search<B: SqlBackend>(
    b: &B,
    f: &AuditFilter,
    limit: u32,
) -> Result<Vec<AuditRecord>> {
    let mut sql = String::from(concat!(
        "SELECT ",
        cols!(audit),
        " FROM audit_log WHERE id < $1"
    ));
    let mut values: Vec<Arg<'_>> = vec![Arg::I64(f.before.unwrap_or(i64::MAX))];
    let text = [
        ("event", f.event.as_deref()),
        ("user_id", f.user_id.as_deref()),
        ("client_id", f.client_id.as_deref()),
        ("actor", f.actor.as_deref()),
    ];
    for (col, value) in text {
        if let Some(v) = value {
            values.push(Arg::Str(v));
            sql.push_str(&format!(" AND {col} = ${}", values.len()));
        }
    }
    for (cond, value) in [("at >=", f.since), ("at <", f.until)] {
        if let Some(v) = value {
            values.push(Arg::I64(v));
            sql.push_str(&format!(" AND {cond} ${}", values.len()));
        }
    }
    values.push(Arg::I64(i64::from(limit)));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", values.len()));
    let found = b.pool().fetch_all(&sql, &values).await;
    found
        .and_then(|r| rows::all(r, rows::audit))
        .map_err(B::error)
}

/// Hourly counts in `[from, to)`: one range scan of `audit_by_at`.
pub(crate) async fn audit_counts<B: SqlBackend>(
    b: &B,
    from: i64,
    to: i64,
) -> Result<Vec<AuditCount>> {
    let sql =
        "SELECT event, CAST(CASE WHEN actor IS NULL THEN 0 ELSE 1 END AS BIGINT) AS by_actor, \
         CAST(($2 - 1 - at) / 3600 AS BIGINT) AS hours_ago, CAST(SUM(count) AS BIGINT) AS n \
         FROM audit_log WHERE at >= $1 AND at < $2 GROUP BY 1, 2, 3";
    let found = b
        .pool()
        .fetch_all(sql, &[Arg::I64(from), Arg::I64(to)])
        .await;
    found
        .and_then(|r| {
            rows::all(r, |row| {
                Ok(AuditCount {
                    event: row.text("event")?,
                    by_actor: row.int("by_actor")? != 0,
                    hours_ago: row.int("hours_ago")?,
                    count: row.int("n")?,
                })
            })
        })
        .map_err(B::error)
}

/// Revoked keys, oldest revocation first.
pub(crate) async fn revoked_key_records<B: SqlBackend>(b: &B) -> Result<Vec<RevokedKeyRecord>> {
    let found = b
        .pool()
        .fetch_all(
            "SELECT kid, revoked_at, alg, created_at, activates_at FROM revoked_keys \
             ORDER BY revoked_at, kid",
            &[],
        )
        .await;
    found
        .and_then(|r| {
            rows::all(r, |row| {
                Ok(RevokedKeyRecord {
                    kid: row.text("kid")?,
                    revoked_at: row.int("revoked_at")?,
                    alg: row.opt_text("alg")?,
                    created_at: row.opt_int("created_at")?,
                    activates_at: row.opt_int("activates_at")?,
                })
            })
        })
        .map_err(B::error)
}
