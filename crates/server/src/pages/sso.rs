//! The single sign-on cookie: the browser's reference to its SSO session at
//! Tessera (the session itself, and the check of the value, are the core's).
//!
//! `__Host-tessera_sso` (`Secure`) when the server runs over HTTPS, plain
//! `tessera_sso` on a plain-HTTP development server, like the refresh
//! cookie; `HttpOnly` (no script reads it), `SameSite=Lax` (it must come
//! with the top-level navigation a client's authorization request is, but
//! not with cross-site posts or subresources), `Path=/`. Every login sets a
//! new value (the core makes a new session each time), so a value planted
//! before the login is never the one after it (no fixation).

use crate::config::Config;
use axum::http::{header, HeaderMap, HeaderValue};

/// The cookie's name for this configuration.
pub fn name(cfg: &Config) -> &'static str {
    if cfg.secure_cookies() {
        "__Host-tessera_sso"
    } else {
        "tessera_sso"
    }
}

/// A value as the core issues it could look: 1 to 512 characters of
/// base64url, `.`, `~` or `-`. Anything else is not read at all.
fn plausible(v: &str) -> bool {
    (1..=512).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// `Set-Cookie` for a new SSO session living `max_age` seconds.
pub fn set(cfg: &Config, value: &str, max_age: i64) -> Option<HeaderValue> {
    if !plausible(value) {
        return None;
    }
    let secure = if cfg.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; HttpOnly{secure}; SameSite=Lax; Path=/; Max-Age={}",
        name(cfg),
        max_age.max(0)
    ))
    .ok()
}

/// `Set-Cookie` that deletes the SSO cookie.
pub fn clear(cfg: &Config) -> HeaderValue {
    let secure = if cfg.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; HttpOnly{secure}; SameSite=Lax; Path=/; Max-Age=0",
        name(cfg)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tessera_sso=; Path=/; Max-Age=0"))
}

/// The SSO cookie's value, if the request carries a plausible one.
pub fn read<'a>(cfg: &Config, headers: &'a HeaderMap) -> Option<&'a str> {
    let want = name(cfg);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == want)
        .map(|(_, v)| v.trim())
        .filter(|v| plausible(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_names_and_reading() {
        let dev = Config::default();
        assert_eq!(
            set(&dev, "abc", 60).map(|v| v.to_str().unwrap_or("").to_owned()),
            Some("tessera_sso=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=60".into())
        );
        let prod = Config {
            issuer: Some("https://auth.example".into()),
            ..Config::default()
        };
        assert_eq!(
            set(&prod, "abc", 60).map(|v| v.to_str().unwrap_or("").to_owned()),
            Some(
                "__Host-tessera_sso=abc; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=60".into()
            )
        );
        assert!(set(&prod, "a;b", 60).is_none());
        assert!(clear(&prod).to_str().unwrap_or("").contains("Max-Age=0"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("x=1; __Host-tessera_sso=v.1; tessera_sso=plain"),
        );
        assert_eq!(read(&prod, &h), Some("v.1"));
        assert_eq!(read(&dev, &h), Some("plain"));
        let mut odd = HeaderMap::new();
        odd.append(header::COOKIE, HeaderValue::from_static("tessera_sso=a\"b"));
        assert_eq!(read(&dev, &odd), None);
    }
}
