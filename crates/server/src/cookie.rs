//! Cookie mode for browsers: the refresh token travels in an HttpOnly cookie
//! and never reaches JavaScript.
//!
//! CSRF defence (a required custom header plus an Origin check): a request
//! that carries the refresh cookie must also
//! - send `X-Tessera-CSRF` (any non-empty value). A cross-site form or a
//!   simple cross-origin `fetch` cannot set a custom header without a CORS
//!   preflight, which only allow-listed origins pass;
//! - if it sends `Origin`, come from the server's own origin or an origin in
//!   `cors_origins`;
//! - not be marked `Sec-Fetch-Site: cross-site` by the browser.
//!
//! Anything else is refused with 403 `csrf_failed`.

use crate::config::Config;
use crate::error::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

/// The request header that proves a same-origin (or allowed) script sent the request.
pub const CSRF_HEADER: &str = "x-tessera-csrf";

/// The cookie's name: `__Host-tessera_refresh` when secure, else the plain-HTTP
/// development name `tessera_refresh`.
pub fn name(cfg: &Config) -> &'static str {
    if cfg.secure_cookies() {
        "__Host-tessera_refresh"
    } else {
        "tessera_refresh"
    }
}

/// `Set-Cookie` for a refresh token living `max_age` seconds.
pub fn set(cfg: &Config, token: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if cfg.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={token}; HttpOnly{secure}; SameSite=Strict; Path=/; Max-Age={}",
        name(cfg),
        max_age.max(0)
    ))
    .ok()
}

/// `Set-Cookie` that deletes the refresh cookie.
pub fn clear(cfg: &Config) -> Option<HeaderValue> {
    let secure = if cfg.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; HttpOnly{secure}; SameSite=Strict; Path=/; Max-Age=0",
        name(cfg)
    ))
    .ok()
}

/// The refresh cookie's value, if the request carries one.
pub fn read(cfg: &Config, headers: &HeaderMap) -> Option<String> {
    let want = name(cfg);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == want)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn forbidden(why: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", why)
}

fn origin_of(url: &str) -> &str {
    // scheme://host[:port] — drop any path.
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => &url[..i + 3 + j],
            None => url,
        },
        None => url,
    }
}

/// Refuses a cookie-carried request that lacks CSRF proof.
pub fn check_csrf(cfg: &Config, headers: &HeaderMap) -> Result<(), ApiError> {
    let has_proof = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !has_proof {
        return Err(forbidden(
            "cookie-authenticated requests must send the X-Tessera-CSRF header",
        ));
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") {
            return Err(forbidden(
                "cross-site requests may not use the refresh cookie",
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let issuer = cfg.issuer();
        let scheme = if issuer.starts_with("https://") {
            "https"
        } else {
            "http"
        };
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("{scheme}://{h}"));
        let allowed = origin == origin_of(&issuer)
            || own.as_deref() == Some(origin)
            || cfg
                .cors_origins
                .0
                .iter()
                .any(|o| o.trim_end_matches('/') == origin);
        if !allowed {
            return Err(forbidden("the request's Origin is not allowed"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn names_attributes_and_reading() {
        let dev = Config::default();
        assert_eq!(name(&dev), "tessera_refresh");
        let v = set(&dev, "tsr_abc", 60).unwrap();
        assert_eq!(
            v,
            "tessera_refresh=tsr_abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        let prod = Config {
            issuer: Some("https://auth.example".into()),
            ..Config::default()
        };
        let v = set(&prod, "tsr_abc", 60).unwrap();
        assert_eq!(
            v,
            "__Host-tessera_refresh=tsr_abc; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert!(clear(&prod)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        let h = headers(&[("cookie", "a=1; __Host-tessera_refresh=tsr_x; b=2")]);
        assert_eq!(read(&prod, &h).as_deref(), Some("tsr_x"));
        assert_eq!(read(&dev, &h), None);
    }

    #[test]
    fn csrf_rules() {
        let cfg = Config {
            issuer: Some("https://auth.example".into()),
            cors_origins: crate::config::OriginList(vec!["https://app.example".into()]),
            ..Config::default()
        };
        assert!(check_csrf(&cfg, &headers(&[])).is_err(), "cookie only");
        assert!(check_csrf(&cfg, &headers(&[(CSRF_HEADER, "1")])).is_ok());
        assert!(check_csrf(
            &cfg,
            &headers(&[(CSRF_HEADER, "1"), ("origin", "https://auth.example")])
        )
        .is_ok());
        assert!(check_csrf(
            &cfg,
            &headers(&[(CSRF_HEADER, "1"), ("origin", "https://app.example")])
        )
        .is_ok());
        assert!(check_csrf(
            &cfg,
            &headers(&[(CSRF_HEADER, "1"), ("origin", "https://evil.example")])
        )
        .is_err());
        assert!(check_csrf(&cfg, &headers(&[(CSRF_HEADER, "1"), ("origin", "null")])).is_err());
        assert!(check_csrf(
            &cfg,
            &headers(&[(CSRF_HEADER, "1"), ("sec-fetch-site", "cross-site")])
        )
        .is_err());
        assert!(check_csrf(
            &cfg,
            &headers(&[(CSRF_HEADER, "1"), ("sec-fetch-site", "same-origin")])
        )
        .is_ok());
    }
}
