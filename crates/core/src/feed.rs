//! The revocation feed: which sessions were revoked recently, so that
//! resource servers can refuse their access tokens before they expire.
//!
//! An access token outlives its session's revocation by at most the
//! access-token lifetime plus the leeway ([`Feed::max_age`]), so the
//! feed keeps exactly that window and drops anything older.
//!
//! ## The cursor
//! Revocation times are whole seconds from the [`Clock`](tessera_jose::Clock)
//! of whichever instance revoked, and rows can commit slightly out of order
//! (several instances on PostgreSQL). A cursor is therefore not "the last
//! row seen" but a window: `(start, seen)` means "I hold every revocation at
//! or after `start`, and there were `seen` of them". A poll is new when the
//! store's count from `start` differs; the answer then repeats the whole
//! window from `start` (followers deduplicate by session id), and the next
//! window starts [`OVERLAP`] seconds before the newest entry, so a row that
//! commits late but inside that margin is still delivered.

use crate::ctx::Ctx;
use crate::Result;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Seconds of overlap between consecutive windows (late commits, clock
/// skew between instances).
pub const OVERLAP: i64 = 60;

/// Most entries returned by one page.
pub const PAGE_LIMIT: u32 = 10_000;

/// A position in the feed. Its text form (`start.seen`) is opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Start of the window the holder has seen in full (Unix seconds).
    pub start: i64,
    /// How many revocations that window held.
    pub seen: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.start, self.seen)
    }
}

/// A cursor that is not of the form `start.seen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCursor;

impl fmt::Display for BadCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed cursor")
    }
}

impl std::error::Error for BadCursor {}

impl FromStr for Cursor {
    type Err = BadCursor;
    fn from_str(s: &str) -> std::result::Result<Self, BadCursor> {
        let (a, b) = s.split_once('.').ok_or(BadCursor)?;
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 19 && t.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return Err(BadCursor);
        }
        Ok(Cursor {
            start: a.parse().map_err(|_| BadCursor)?,
            seen: b.parse().map_err(|_| BadCursor)?,
        })
    }
}

/// One revoked session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The session id (the `sid` claim of its access tokens).
    pub sid: String,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
}

/// An answer of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Revocations in the window, oldest first. May repeat entries a
    /// follower already holds.
    pub revoked: Vec<Revoked>,
    /// Where to continue.
    pub cursor: Cursor,
    /// True when the page was cut at [`PAGE_LIMIT`]: poll again at once.
    pub more: bool,
}

/// The revocation feed.
#[derive(Clone)]
pub struct Feed {
    ctx: Arc<Ctx>,
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

impl Feed {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Feed { ctx }
    }

    /// How long a revocation matters: the access-token lifetime plus the
    /// validation leeway. Followers may forget an entry this long after its
    /// `revoked_at`.
    pub fn max_age(&self) -> i64 {
        let c = &self.ctx.cfg;
        i64::try_from(
            c.access_token_ttl
                .as_secs()
                .saturating_add(c.leeway.as_secs()),
        )
        .unwrap_or(i64::MAX)
    }

    /// A receiver that changes after every session revocation made by this
    /// process (other instances are seen by polling the store).
    pub fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.ctx.revocation_signal()
    }

    /// Reads the feed. `None` means nothing changed since `since` (a long
    /// poll should wait); no cursor, or one older than the store keeps
    /// revocations for, gets the whole current window.
    pub async fn revocations(&self, since: Option<Cursor>) -> Result<Option<Page>> {
        let now = self.ctx.now();
        let floor = now.saturating_sub(self.max_age());
        // Revoked sessions are kept a day (see `Maintenance::run`); a cursor older
        // than that can no longer be compared, so it starts afresh.
        let retained = now.saturating_sub(86_400 - OVERLAP);
        let from = match since {
            Some(c) if c.start >= retained && c.start <= now.saturating_add(OVERLAP) => {
                if self.ctx.store.count_revocations_since(c.start).await? == c.seen {
                    return Ok(None);
                }
                c.start.max(floor)
            }
            _ => floor,
        };
        let rows = self.ctx.store.revocations_since(from, PAGE_LIMIT).await?;
        let more = rows.len() >= PAGE_LIMIT as usize;
        let newest = rows.last().map_or(from, |r| r.1);
        // The next window: OVERLAP before the newest entry, but never before
        // what this page covers (it must hold the whole window). A cut page
        // continues from its last second.
        let start = if more {
            newest
        } else {
            newest.saturating_sub(OVERLAP).max(from)
        };
        let seen = rows.iter().filter(|r| r.1 >= start).count() as u64;
        Ok(Some(Page {
            revoked: rows
                .into_iter()
                .map(|(sid, revoked_at)| Revoked { sid, revoked_at })
                .collect(),
            cursor: Cursor { start, seen },
            more,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let c = Cursor {
            start: 1_700_000_000,
            seen: 3,
        };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "1",
            "1.2.3",
            "-1.2",
            "1.-2",
            "a.b",
            "+1.2",
            "1 .2",
            "99999999999999999999.1",
        ] {
            assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
        }
    }
}
