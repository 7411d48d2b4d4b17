//! The administration overview: what happened in the last hour and day
//! (counted from the audit log, one bounded range scan), the live sessions
//! and accounts, the signing key's age, and the warnings an operator should
//! act on. [`Audit::overview`] builds it; the admin API and
//! `tessera overview` show it.

use crate::audit::Audit;
use crate::error::Result;

/// One counted series of the overview: its name and the audit events it
/// counts.
const SERIES: &[(&str, &[&str])] = &[
    ("logins", &["login.success"]),
    ("login_failures", &["login.failure"]),
    ("refreshes", &["refresh.rotated"]),
    ("reuse_detected", &["refresh.reuse_detected"]),
    ("registrations", &["user.registered"]),
    (
        "revocations",
        &[
            "session.revoked",
            "sessions.revoked",
            "logout",
            "logout.all",
        ],
    ),
];

/// The series of rows that name an actor.
const ADMIN_ACTIONS: &str = "admin_actions";

/// A signing key overdue for rotation by more than this (maintenance runs
/// every few seconds; an instance that was down may be a little late).
const ROTATION_GRACE: i64 = 3600;

/// Hours in the overview's series.
pub const HOURS: usize = 24;

/// One series: counts in the last hour and day, and 24 hourly buckets,
/// oldest first (the last is the hour that ends now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Its name (`logins`, `login_failures`, `refreshes`, `reuse_detected`,
    /// `registrations`, `revocations`, `admin_actions`).
    pub name: &'static str,
    /// In the last hour.
    pub hour: u64,
    /// In the last 24 hours.
    pub day: u64,
    /// Hourly, oldest first.
    pub hourly: [u64; HOURS],
}

/// The signing key and its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Its kid.
    pub kid: String,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// When the scheduled rotation replaces it (`None`: never).
    pub rotates_at: Option<i64>,
}

/// Something an operator should act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Stable code.
    pub code: &'static str,
    /// For a person.
    pub message: String,
}

/// The overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The counted series, in a fixed order.
    pub series: Vec<Series>,
    /// Unrevoked, unexpired sessions.
    pub active_sessions: i64,
    /// Accounts (not deleted).
    pub users: i64,
    /// The key that signs access tokens now.
    pub signing_key: Option<SigningKey>,
    /// Warnings, empty when all is well.
    pub warnings: Vec<Warning>,
}

/// What the server knows and the core does not (its mail transport).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerFacts {
    /// True when account mail goes out by SMTP (not to `.eml` files).
    pub smtp_configured: bool,
}

impl Audit {
    /// The overview at the clock's now.
    pub async fn overview(&self, facts: ServerFacts) -> Result<Overview> {
        let c = self.ctx();
        let now = c.now();
        let from = now.saturating_sub(3600 * HOURS as i64);
        let rows = c.store.audit_counts(from, now.saturating_add(1)).await?;
        let mut series: Vec<Series> = SERIES
            .iter()
            .map(|(name, _)| *name)
            .chain([ADMIN_ACTIONS])
            .map(|name| Series {
                name,
                hour: 0,
                day: 0,
                hourly: [0; HOURS],
            })
            .collect();
        for row in rows {
            let Ok(ago) = usize::try_from(row.hours_ago) else {
                continue;
            };
            let n = u64::try_from(row.count).unwrap_or(0);
            for (i, (_, events)) in SERIES.iter().enumerate() {
                if events.contains(&row.event.as_str()) {
                    add(&mut series[i], ago, n);
                }
            }
            if row.by_actor {
                add(&mut series[SERIES.len()], ago, n);
            }
        }
        let state = c.keys.current(now);
        let rotates_at = c.keys.rotates_at(now);
        let signing_key = state
            .infos()
            .iter()
            .find(|k| k.signing)
            .map(|k| SigningKey {
                kid: k.kid.clone(),
                age_seconds: now.saturating_sub(k.created_at),
                rotates_at,
            });
        let warnings = self.warnings(now, rotates_at, facts);
        Ok(Overview {
            series,
            active_sessions: c.store.count_live_sessions(now).await?,
            users: c.store.count_users().await?,
            signing_key,
            warnings,
        })
    }

    /// The overview's warnings: a key past its rotation date, open
    /// registration, no SMTP, an `http:` issuer.
    ///
    /// **"No admin with MFA"** (`no_admin_with_mfa`) belongs here once
    /// multi-factor authentication exists (issue 17): push it when no user
    /// with the `admin` role has a second factor. It is deliberately not
    /// computed before then.
    fn warnings(&self, now: i64, rotates_at: Option<i64>, facts: ServerFacts) -> Vec<Warning> {
        let cfg = &self.ctx().cfg;
        let mut out = Vec::new();
        if let Some(due) = rotates_at.filter(|t| t.saturating_add(ROTATION_GRACE) < now) {
            out.push(Warning {
                code: "key_rotation_overdue",
                message: format!(
                    "the signing key was due for rotation {} hours ago: is the maintenance \
                     task running?",
                    now.saturating_sub(due) / 3600
                ),
            });
        }
        if cfg.registration_open {
            out.push(Warning {
                code: "registration_open",
                message: "anyone can register an account (registration = \"open\")".into(),
            });
        }
        if !facts.smtp_configured {
            out.push(Warning {
                code: "smtp_not_configured",
                message: "no smtp_url: account mail (verification, password reset) is written \
                          to files under data_dir/mail instead of being sent"
                    .into(),
            });
        }
        if cfg.issuer.starts_with("http://") {
            out.push(Warning {
                code: "http_issuer",
                message: "the issuer is an http:// URL: tokens and cookies travel unencrypted \
                          (use https:// in production)"
                    .into(),
            });
        }
        out
    }
}

fn add(s: &mut Series, hours_ago: usize, n: u64) {
    if hours_ago >= HOURS {
        return;
    }
    s.hourly[HOURS - 1 - hours_ago] = s.hourly[HOURS - 1 - hours_ago].saturating_add(n);
    s.day = s.day.saturating_add(n);
    if hours_ago == 0 {
        s.hour = s.hour.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_hour_and_the_day() {
        let mut s = Series {
            name: "logins",
            hour: 0,
            day: 0,
            hourly: [0; HOURS],
        };
        add(&mut s, 0, 2);
        add(&mut s, 23, 1);
        add(&mut s, 24, 9);
        assert_eq!((s.hour, s.day), (2, 3));
        assert_eq!((s.hourly[HOURS - 1], s.hourly[0]), (2, 1));
    }
}
