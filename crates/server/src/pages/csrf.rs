//! CSRF for the pages' plain form posts: a double-submit token.
//!
//! - Serving a form calls [`issue`]: it keeps the browser's CSRF cookie if it
//!   has a well-formed one (so two open tabs both work) or makes a new one:
//!   32 random bytes, base64url, in `__Host-tessera_csrf` (`Secure`; plain
//!   `tessera_csrf` when the server runs without HTTPS, like the refresh
//!   cookie), `HttpOnly`, `SameSite=Strict`, `Path=/`, ending with the
//!   browser session. The same value goes into the form as a hidden field.
//! - A post is accepted by [`check`] only if the cookie and the field are
//!   both present, well-formed and equal (compared in constant time), and the
//!   browser's own signals do not say it came from elsewhere: a
//!   `Sec-Fetch-Site` other than `same-origin` or `none` is refused, and so
//!   is an `Origin` other than this server's. (`Origin: null` is let through
//!   to the token check: under `Referrer-Policy: no-referrer` browsers send
//!   `null` even for a same-origin form.)
//!
//! Another site cannot read the cookie or the page, so it cannot produce a
//! matching field; `SameSite=Strict` keeps the cookie off cross-site posts
//! anyway, and the `__Host-` prefix stops a sibling subdomain from planting
//! a cookie of its own choosing.

use crate::config::Config;
use axum::http::{header, HeaderMap, HeaderValue};
use std::fmt;

/// Bytes of randomness in a CSRF value.
const BYTES: usize = 32;
/// Length of a CSRF value: base64url of [`BYTES`] without padding.
const LEN: usize = 43;

/// The CSRF cookie's name for this configuration.
pub fn cookie_name(cfg: &Config) -> &'static str {
    if cfg.secure_cookies() {
        "__Host-tessera_csrf"
    } else {
        "tessera_csrf"
    }
}

/// A CSRF value to put in a form, and the cookie to set with it (`None`
/// when the browser already holds it).
pub struct Issued {
    /// The hidden field's value.
    pub token: String,
    /// The `Set-Cookie` header, when a new value was made.
    pub set_cookie: Option<HeaderValue>,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Issued(<redacted>)")
    }
}

/// Why a post was refused (the text is safe to show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// No CSRF cookie came with the post (cookies off, or the page was not
    /// loaded from this server in this browser session).
    NoCookie,
    /// The form's field is missing or does not match the cookie.
    Mismatch,
    /// The browser marked the request as coming from another site.
    CrossSite,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::NoCookie => {
                "The form's security cookie is missing. Make sure cookies are allowed for this \
                 site, then open the link from your email again."
            }
            Refused::Mismatch => {
                "The form's security check failed. Open the link from your email again and \
                 resubmit the form."
            }
            Refused::CrossSite => "This form can only be sent from this site's own page.",
        })
    }
}

fn well_formed(v: &str) -> bool {
    v.len() == LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The CSRF cookie's value, if the request carries a well-formed one.
fn read_cookie<'a>(cfg: &Config, headers: &'a HeaderMap) -> Option<&'a str> {
    let want = cookie_name(cfg);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == want)
        .map(|(_, v)| v.trim())
        .filter(|v| well_formed(v))
}

/// The value for a form being served, and the cookie to set if it is new.
pub fn issue(cfg: &Config, headers: &HeaderMap) -> Result<Issued, tessera_jose::Error> {
    if let Some(v) = read_cookie(cfg, headers) {
        return Ok(Issued {
            token: v.to_owned(),
            set_cookie: None,
        });
    }
    let bytes = tessera_jose::crypto::random_bytes(BYTES)?;
    let token = tessera_jose::b64::encode(&bytes);
    let secure = if cfg.secure_cookies() { "; Secure" } else { "" };
    let set_cookie = HeaderValue::from_str(&format!(
        "{}={token}; HttpOnly{secure}; SameSite=Strict; Path=/",
        cookie_name(cfg)
    ))
    .ok();
    Ok(Issued { token, set_cookie })
}

/// This server's origins: the issuer's, and the one the request's `Host`
/// names (with the issuer's scheme).
fn is_own_origin(cfg: &Config, headers: &HeaderMap, origin: &str) -> bool {
    let issuer = cfg.issuer();
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("http", &issuer));
    let host = rest.split('/').next().unwrap_or(rest);
    if origin == format!("{scheme}://{host}") {
        return true;
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| origin == format!("{scheme}://{h}"))
}

/// Accepts a form post only with a matching CSRF cookie and field and no
/// sign of another site (see the module's text).
pub fn check(cfg: &Config, headers: &HeaderMap, field: Option<&str>) -> Result<(), Refused> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("cross-site");
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(Refused::CrossSite);
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if origin != "null" && !is_own_origin(cfg, headers, origin) {
            return Err(Refused::CrossSite);
        }
    }
    let cookie = read_cookie(cfg, headers).ok_or(Refused::NoCookie)?;
    let field = field.filter(|f| well_formed(f)).ok_or(Refused::Mismatch)?;
    if tessera_jose::crypto::constant_time_eq(cookie.as_bytes(), field.as_bytes()) {
        Ok(())
    } else {
        Err(Refused::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                h.append(k, v);
            }
        }
        h
    }

    #[test]
    fn a_new_value_is_random_and_set_as_a_strict_host_cookie() {
        let prod = Config {
            issuer: Some("https://auth.example".into()),
            ..Config::default()
        };
        let a = issue(&prod, &HeaderMap::new()).unwrap_or_else(|_| unreachable!());
        let b = issue(&prod, &HeaderMap::new()).unwrap_or_else(|_| unreachable!());
        assert_ne!(a.token, b.token);
        assert!(well_formed(&a.token));
        let cookie = a.set_cookie.map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(
            cookie.as_deref(),
            Some(
                format!(
                    "__Host-tessera_csrf={}; HttpOnly; Secure; SameSite=Strict; Path=/",
                    a.token
                )
                .as_str()
            )
        );
        let dev = issue(&Config::default(), &HeaderMap::new()).unwrap_or_else(|_| unreachable!());
        let c = dev.set_cookie.map(|v| v.to_str().unwrap_or("").to_owned());
        assert!(c.is_some_and(|c| c.starts_with("tessera_csrf=") && !c.contains("Secure")));
    }

    #[test]
    fn an_existing_cookie_is_kept() {
        let cfg = Config::default();
        let v = "A".repeat(LEN);
        let h = headers(&[("cookie", &format!("x=1; tessera_csrf={v}"))]);
        let i = issue(&cfg, &h).unwrap_or_else(|_| unreachable!());
        assert_eq!(i.token, v);
        assert!(i.set_cookie.is_none());
        // A malformed one is replaced.
        let h = headers(&[("cookie", "tessera_csrf=short")]);
        let i = issue(&cfg, &h).unwrap_or_else(|_| unreachable!());
        assert!(i.set_cookie.is_some());
    }

    #[test]
    fn check_rules() {
        let cfg = Config {
            issuer: Some("https://auth.example".into()),
            ..Config::default()
        };
        let v = "b".repeat(LEN);
        let w = "c".repeat(LEN);
        let cookie = format!("__Host-tessera_csrf={v}");
        let ok = |extra: &[(&str, &str)]| {
            let mut pairs = vec![("cookie", cookie.as_str())];
            pairs.extend_from_slice(extra);
            check(&cfg, &headers(&pairs), Some(&v))
        };
        assert_eq!(ok(&[]), Ok(()));
        assert_eq!(ok(&[("sec-fetch-site", "same-origin")]), Ok(()));
        assert_eq!(ok(&[("origin", "https://auth.example")]), Ok(()));
        assert_eq!(ok(&[("origin", "null")]), Ok(()));
        assert_eq!(
            ok(&[("origin", "https://evil.example")]),
            Err(Refused::CrossSite)
        );
        assert_eq!(
            ok(&[("sec-fetch-site", "cross-site")]),
            Err(Refused::CrossSite)
        );
        assert_eq!(
            ok(&[("sec-fetch-site", "same-site")]),
            Err(Refused::CrossSite)
        );
        let h = headers(&[("cookie", cookie.as_str())]);
        assert_eq!(check(&cfg, &h, Some(&w)), Err(Refused::Mismatch));
        assert_eq!(check(&cfg, &h, None), Err(Refused::Mismatch));
        assert_eq!(check(&cfg, &h, Some("")), Err(Refused::Mismatch));
        assert_eq!(
            check(&cfg, &HeaderMap::new(), Some(&v)),
            Err(Refused::NoCookie)
        );
        // The plain-HTTP name does not count on an HTTPS server.
        let plain = headers(&[("cookie", &format!("tessera_csrf={v}"))]);
        assert_eq!(check(&cfg, &plain, Some(&v)), Err(Refused::NoCookie));
    }
}
