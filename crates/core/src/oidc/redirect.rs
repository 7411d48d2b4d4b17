//! Redirect URIs: what may be registered, and matching (exact string match;
//! the one exception is RFC 8252 §7.3: a registered `http://127.0.0.1/…` or
//! `http://[::1]/…` matches that URI on any port, for native apps).

/// Checks a URI a client registers as a redirect or post-logout redirect
/// URI: absolute, no fragment, no user info; `https`, `http` only on a
/// loopback address or `localhost`, or a private-use scheme (a native app's
/// `com.example.app:/callback`, RFC 8252 §7.1).
pub(crate) fn check_registered(uri: &str) -> Result<(), String> {
    if uri.len() > 2048 {
        return Err("is too long".into());
    }
    let parsed = url::Url::parse(uri).map_err(|_| format!("`{uri}` is not an absolute URI"))?;
    if parsed.fragment().is_some() {
        return Err(format!("`{uri}` has a fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("`{uri}` has user info"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host_str() {
            Some("127.0.0.1" | "[::1]" | "localhost") => Ok(()),
            _ => Err(format!(
                "`{uri}`: http is allowed only on 127.0.0.1, [::1] or localhost"
            )),
        },
        "javascript" | "data" | "file" | "vbscript" | "blob" => {
            Err(format!("`{uri}`: scheme not allowed"))
        }
        s if s.contains('.') => Ok(()),
        _ => Err(format!(
            "`{uri}`: use https, http on a loopback address, or a reverse-domain private scheme"
        )),
    }
}

/// True if `presented` is the registered URI: byte-for-byte equal, or, for
/// a registered `http` loopback IP literal, equal but for the port.
pub(crate) fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback =
        |u: &url::Url| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]"));
    if !loopback(&r) || !loopback(&p) {
        return false;
    }
    // Everything but the port must be as registered, and the presented
    // text must be in the canonical form the parser gives (no `@`, no
    // escapes or case games slipping through normalisation).
    if p.as_str() != presented {
        return false;
    }
    let mut r2 = r.clone();
    if r2.set_port(p.port()).is_err() {
        return false;
    }
    r2.as_str() == presented && r.username().is_empty() && r.fragment().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let reg = "https://app.example/cb";
        assert!(redirect_matches(reg, "https://app.example/cb"));
        for bad in [
            "https://app.example/cb/",
            "https://app.example:8443/cb",
            "https://APP.example/cb",
            "https://app.example/CB",
            "https://app.example@evil.example/cb",
            "https://evil.example@app.example/cb",
            "https://app.example/cb/extra",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "http://app.example/cb",
            "https://app.example/c",
            "https://app.example/cb%2f..",
        ] {
            assert!(!redirect_matches(reg, bad), "{bad}");
        }
    }

    #[test]
    fn loopback_any_port() {
        let reg = "http://127.0.0.1/callback";
        assert!(redirect_matches(reg, "http://127.0.0.1:51004/callback"));
        assert!(redirect_matches(reg, "http://127.0.0.1/callback"));
        assert!(redirect_matches(
            "http://[::1]:80/cb",
            "http://[::1]:9999/cb"
        ));
        for bad in [
            "http://127.0.0.1:51004/callback/",
            "http://127.0.0.1:51004/other",
            "http://127.0.0.1:51004/callback?x=1",
            "http://localhost:51004/callback",
            "http://127.0.0.2:51004/callback",
            "http://u@127.0.0.1:51004/callback",
            "https://127.0.0.1:51004/callback",
            "http://127.0.0.1:51004/CALLBACK",
        ] {
            assert!(!redirect_matches(reg, bad), "{bad}");
        }
        // Not for localhost or other hosts: exact match there.
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://localhost:1234/cb"
        ));
    }

    #[test]
    fn registration_rules() {
        assert!(check_registered("https://app.example/cb").is_ok());
        assert!(check_registered("http://127.0.0.1/cb").is_ok());
        assert!(check_registered("com.example.app:/cb").is_ok());
        for bad in [
            "/cb",
            "https://app.example/cb#x",
            "http://app.example/cb",
            "javascript:alert(1)",
            "https://u:p@app.example/cb",
            "myapp:/cb",
        ] {
            assert!(check_registered(bad).is_err(), "{bad}");
        }
    }
}
