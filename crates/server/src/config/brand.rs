//! The hosted sign-in pages' brand: `login_product_name`, `login_logo_url`
//! and `login_accent_color`, checked at start-up and read by `pages`.

use super::{bad, Config, ConfigError};

/// True for `#rgb` or `#rrggbb`: the only accent colours accepted, so the
/// value can go into a stylesheet as is.
pub fn is_color(text: &str) -> bool {
    text.strip_prefix('#').is_some_and(|hex| {
        (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// True for a logo address the pages may show: a path on this server
/// (`/…`, not `//…`) or an `https://` URL, without quotes, spaces, angle
/// brackets, backslashes or control characters.
pub fn is_logo_url(text: &str) -> bool {
    let clean = !text.is_empty()
        && text.len() <= 2048
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"'<>\\`".contains(&b));
    let path = text.starts_with('/') && !text.starts_with("//");
    let https = text
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    clean && (path || https)
}

/// The origin (`https://host[:port]`) of an `https://` logo URL, to allow in
/// the pages' `img-src`; `None` for a path on this server.
pub fn logo_origin(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    ok.then(|| format!("https://{host}"))
}

impl Config {
    /// The product name of the hosted pages.
    pub fn login_product_name(&self) -> &str {
        self.login_product_name
            .as_deref()
            .unwrap_or(&self.mail_product_name)
    }

    pub(super) fn check_login_brand(&self) -> Result<(), ConfigError> {
        if let Some(n) = &self.login_product_name {
            if n.trim().is_empty() || n.chars().count() > 100 {
                return Err(bad("login_product_name", "must be 1 to 100 characters"));
            }
        }
        if let Some(u) = &self.login_logo_url {
            if !is_logo_url(u) || (u.starts_with("https://") && logo_origin(u).is_none()) {
                return Err(bad(
                    "login_logo_url",
                    "must be a path on this server (`/logo.svg`) or an https:// URL",
                ));
            }
        }
        if let Some(c) = &self.login_accent_color {
            if !is_color(c) {
                return Err(bad("login_accent_color", "must be `#rgb` or `#rrggbb`"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_and_logos() {
        assert!(is_color("#0af") && is_color("#00AAff"));
        for c in ["0af", "#0a", "#0aff", "#gggggg", "#00aaff;x", "red"] {
            assert!(!is_color(c), "{c}");
        }
        assert!(is_logo_url("/static/logo.svg"));
        assert!(is_logo_url("https://cdn.example/logo.png?v=2"));
        for u in [
            "//evil.example/x.png",
            "http://cdn.example/logo.png",
            "javascript:alert(1)",
            "/a\"b",
            "/a b",
            "https:///x",
            "",
        ] {
            assert!(!is_logo_url(u), "{u}");
        }
        assert_eq!(
            logo_origin("https://cdn.example:8443/l.png").as_deref(),
            Some("https://cdn.example:8443")
        );
        assert_eq!(logo_origin("https://u@cdn.example/l.png"), None);
        assert_eq!(logo_origin("/l.png"), None);
        assert_eq!(logo_origin("https://a;b/l.png"), None);
    }

    #[test]
    fn start_up_checks() {
        let ok = Config {
            login_accent_color: Some("#123abc".into()),
            login_logo_url: Some("/logo.svg".into()),
            ..Config::default()
        };
        assert!(ok.check_login_brand().is_ok());
        assert_eq!(ok.login_product_name(), "Tessera");
        let bad_color = Config {
            login_accent_color: Some("red;}body{".into()),
            ..Config::default()
        };
        assert!(bad_color.check_login_brand().is_err());
        let bad_logo = Config {
            login_logo_url: Some("https://u@x/l.png".into()),
            ..Config::default()
        };
        assert!(bad_logo.check_login_brand().is_err());
        let named = Config {
            login_product_name: Some("Acme ID".into()),
            ..Config::default()
        };
        assert_eq!(named.login_product_name(), "Acme ID");
    }
}
