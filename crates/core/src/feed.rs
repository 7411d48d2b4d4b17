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
//!
//! A window larger than a page is read in pages by a keyset on
//! `(revoked_at, session id)`: the cut page's cursor also names its last
//! entry (`start.seen.revoked_at.sid`), and the next page starts after it,
//! however many revocations share one second. The last page moves the
//! window on only where it alone holds the new window (else the window
//! stays at `start`, counted across the pages).
//!
//! ## Beside the sessions
//! Every answer also lists every revoked signing key (never forgotten) and
//! every revoked session-less token (client-credentials access tokens
//! revoked by RFC 7009, until their `exp` plus the leeway). Both lists are
//! short and sent whole; the cursor ends with how many keys the holder has
//! (`~k`) and a digest of the token list (`~d`, 16 hex digits), so a change
//! to either is news.

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

/// A position in the feed. Its text form (`start.seen`, or
/// `start.seen.revoked_at.sid` inside a window read in pages) is opaque to
/// clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Start of the window the holder has seen in full (Unix seconds), or,
    /// with `after`, is reading.
    pub start: i64,
    /// How many revocations of that window the holder has.
    pub seen: u64,
    /// Inside a window read in pages: the last entry held, as
    /// `(revoked_at, sid)`; the next page starts after it.
    pub after: Option<(i64, String)>,
    /// How many revoked signing keys the holder knows (`~k` at the end of
    /// the text form); `None` in cursors from before key revocation.
    pub keys: Option<u64>,
    /// Digest of the revoked-token list the holder has (`~k~d`); `None` in
    /// cursors from before tokens were listed.
    pub tokens: Option<u64>,
}

impl Cursor {
    /// A cursor for a whole window.
    pub fn window(start: i64, seen: u64) -> Self {
        Cursor {
            start,
            seen,
            after: None,
            keys: None,
            tokens: None,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.start, self.seen)?;
        if let Some((at, sid)) = &self.after {
            write!(f, ".{at}.{sid}")?;
        }
        if let Some(k) = self.keys {
            write!(f, "~{k}")?;
            if let Some(d) = self.tokens {
                write!(f, "~{d:016x}")?;
            }
        }
        Ok(())
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
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 19 && t.bytes().all(|c| c.is_ascii_digit());
        let sid = |t: &str| {
            !t.is_empty()
                && t.len() <= 64
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        };
        let hex =
            |t: &str| t.len() == 16 && t.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        let (s, keys, tokens) = match s.split('~').collect::<Vec<_>>().as_slice() {
            [rest] => (*rest, None, None),
            [rest, k] if digits(k) => (*rest, Some(k.parse().map_err(|_| BadCursor)?), None),
            [rest, k, d] if digits(k) && hex(d) => (
                *rest,
                Some(k.parse().map_err(|_| BadCursor)?),
                Some(u64::from_str_radix(d, 16).map_err(|_| BadCursor)?),
            ),
            _ => return Err(BadCursor),
        };
        let parts: Vec<&str> = s.split('.').collect();
        let (a, b, after) = match parts.as_slice() {
            [a, b] => (*a, *b, None),
            [a, b, t, id] if digits(t) && sid(id) => (*a, *b, Some((*t, *id))),
            _ => return Err(BadCursor),
        };
        if !digits(a) || !digits(b) {
            return Err(BadCursor);
        }
        let after = match after {
            Some((t, id)) => Some((t.parse().map_err(|_| BadCursor)?, id.to_owned())),
            None => None,
        };
        Ok(Cursor {
            start: a.parse().map_err(|_| BadCursor)?,
            seen: b.parse().map_err(|_| BadCursor)?,
            after,
            keys,
            tokens,
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
    /// Every revoked signing key, oldest first (a handful at most): their
    /// tokens are refused whatever their `exp`, so they never age out.
    pub revoked_keys: Vec<RevokedKey>,
    /// Every revoked session-less access token that could still verify,
    /// by expiry.
    pub revoked_tokens: Vec<RevokedToken>,
}

/// A revoked session-less access token (no `sid`: client credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedToken {
    /// Its `jti` claim.
    pub jti: String,
    /// Its `exp` claim (Unix seconds): followers forget it after `exp`
    /// plus their leeway.
    pub exp: i64,
}

/// A revoked signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKey {
    /// The key id (the `kid` header of the tokens it signed).
    pub kid: String,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
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
        self.revocations_paged(since, PAGE_LIMIT).await
    }

    /// [`Feed::revocations`] with pages of at most `limit` entries (tests).
    pub async fn revocations_paged(
        &self,
        since: Option<Cursor>,
        limit: u32,
    ) -> Result<Option<Page>> {
        let limit = limit.max(1);
        let now = self.ctx.now();
        let floor = now.saturating_sub(self.max_age());
        // Revoked sessions are kept a day (see `Maintenance::run`); a cursor older
        // than that can no longer be compared, so it starts afresh.
        let retained = now.saturating_sub(86_400 - OVERLAP);
        let lists = self.lists(now).await?;
        let known = lists.keys.len() as u64;
        let digest = lists.digest();
        let from = match since {
            Some(c) if c.start >= retained && c.start <= now.saturating_add(OVERLAP) => {
                if let Some(after) = c.after {
                    let page = self.next_page(c.start, c.seen, after, limit).await?;
                    return Ok(Some(lists.attach(page)));
                }
                if c.keys == Some(known)
                    && c.tokens == Some(digest)
                    && self.ctx.store.count_revocations_since(c.start).await? == c.seen
                {
                    return Ok(None);
                }
                c.start.max(floor)
            }
            _ => floor,
        };
        let rows = self.ctx.store.revocations_since(from, limit).await?;
        Ok(Some(lists.attach(page(rows, from, 0, None, limit))))
    }

    /// The revoked keys, and the revoked tokens that could still verify.
    async fn lists(&self, now: i64) -> Result<Lists> {
        let store = &self.ctx.store;
        let leeway = i64::try_from(self.ctx.cfg.leeway.as_secs()).unwrap_or(i64::MAX);
        let keys = store.revoked_keys().await?;
        let tokens = store.revoked_tokens(now.saturating_sub(leeway)).await?;
        Ok(Lists {
            keys: keys
                .into_iter()
                .map(|(kid, revoked_at)| RevokedKey { kid, revoked_at })
                .collect(),
            tokens: tokens
                .into_iter()
                .map(|(jti, exp)| RevokedToken { jti, exp })
                .collect(),
        })
    }

    /// The page after `after` of the window from `start`, of which the
    /// holder has `seen` entries.
    async fn next_page(
        &self,
        start: i64,
        seen: u64,
        after: (i64, String),
        limit: u32,
    ) -> Result<Page> {
        let key = (after.0, after.1.as_str());
        let rows = self.ctx.store.revocations_after(key, limit).await?;
        Ok(page(rows, start, seen, Some(after.0), limit))
    }
}

/// The lists every answer carries whole.
struct Lists {
    keys: Vec<RevokedKey>,
    tokens: Vec<RevokedToken>,
}

impl Lists {
    /// A digest of the token list (its order is the store's, by expiry then
    /// id): the first 8 bytes of SHA-256 over `jti NUL exp NUL`.
    fn digest(&self) -> u64 {
        let mut text = Vec::new();
        for t in &self.tokens {
            text.extend_from_slice(t.jti.as_bytes());
            text.push(0);
            text.extend_from_slice(t.exp.to_string().as_bytes());
            text.push(0);
        }
        let h = tessera_jose::crypto::sha256(&text);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[..8]);
        u64::from_be_bytes(first)
    }

    /// The page with both lists, and a cursor that counts the keys and
    /// digests the tokens.
    fn attach(self, mut page: Page) -> Page {
        page.cursor.keys = Some(self.keys.len() as u64);
        page.cursor.tokens = Some(self.digest());
        page.revoked_keys = self.keys;
        page.revoked_tokens = self.tokens;
        page
    }
}

/// A page of the window from `start`: `rows` follow `seen` entries already
/// delivered, the last of them (if any) revoked at `prev`.
fn page(rows: Vec<(String, i64)>, start: i64, seen: u64, prev: Option<i64>, limit: u32) -> Page {
    let more = rows.len() >= limit as usize;
    let total = seen.saturating_add(rows.len() as u64);
    let cursor = match rows.last() {
        // Cut: continue after the last entry, in the same window.
        Some((sid, at)) if more => Cursor {
            start,
            seen: total,
            after: Some((*at, sid.clone())),
            keys: None,
            tokens: None,
        },
        // Complete: the next window starts OVERLAP before the newest entry,
        // if this page alone holds it (all after `prev`'s second); else the
        // window stays, counted across its pages.
        Some((_, newest)) => {
            let next = newest.saturating_sub(OVERLAP).max(start);
            if prev.is_none_or(|p| next > p) {
                let seen = rows.iter().filter(|r| r.1 >= next).count() as u64;
                Cursor::window(next, seen)
            } else {
                Cursor::window(start, total)
            }
        }
        None => Cursor::window(start, total),
    };
    Page {
        revoked: rows
            .into_iter()
            .map(|(sid, revoked_at)| Revoked { sid, revoked_at })
            .collect(),
        cursor,
        more,
        revoked_keys: Vec::new(),
        revoked_tokens: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let c = Cursor::window(1_700_000_000, 3);
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c.clone()));
        let c = Cursor {
            after: Some((1_700_000_001, "aB-_9".into())),
            ..c
        };
        assert_eq!(c.to_string(), "1700000000.3.1700000001.aB-_9");
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c.clone()));
        let k = Cursor {
            keys: Some(2),
            after: Some((1_700_000_001, "a-b_C".into())),
            ..c
        };
        assert_eq!(k.to_string(), "1700000000.3.1700000001.a-b_C~2");
        assert_eq!(k.to_string().parse::<Cursor>(), Ok(k.clone()));
        let d = Cursor {
            tokens: Some(0x00ab_cdef_0123_4567),
            ..k
        };
        assert_eq!(
            d.to_string(),
            "1700000000.3.1700000001.a-b_C~2~00abcdef01234567"
        );
        assert_eq!(d.to_string().parse::<Cursor>(), Ok(d));
        assert_eq!("5.6~0".parse::<Cursor>().map(|c| c.keys), Ok(Some(0)));
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
            "1.2~",
            "1.2~x",
            "1.2~3~4",
            "~3",
            "1.2.3.",
            "1.2..x",
            "1.2.x.abc",
            "1.2.3.a b",
            "1.2.3.a.b",
            "1.2.3.a%2e",
            "1.2~3~",
            "1.2~3~abc",
            "1.2~3~00ABCDEF01234567",
            "1.2~3~00abcdef012345678",
            "1.2~3~00abcdef0123456g",
            "1.2~~00abcdef01234567",
            "1.2~3~00abcdef01234567~1",
        ] {
            assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
        }
    }
}
