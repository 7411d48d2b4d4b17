//! Browser pages served from assets embedded in the binary: the JWT
//! debugger, the live demo, the JS client, and the script and stylesheet of
//! the account pages (`pages`). No CDN, no run-time fetch.
//!
//! The admin console (`/admin`, [`crate::console`]) is served here too, under
//! its own policy ([`ADMIN_CSP`]: the same rules, except that forms may post
//! to this origin).
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles and
//! connections to this origin only; no inline code), `nosniff`,
//! `Referrer-Policy: no-referrer` (a token in the debugger's URL fragment must
//! never leak), framing refused, and an `ETag` with `Cache-Control: no-cache`
//! so browsers revalidate cheaply (`304`) and never run stale assets after an
//! upgrade.

use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::OnceLock;

/// The Content-Security-Policy of the pages and assets served here.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The admin console's Content-Security-Policy: the same origin-only rules,
/// with `form-action 'self'`.
pub(crate) const ADMIN_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// One embedded file, at one or more paths.
struct Asset {
    paths: &'static [&'static str],
    body: &'static str,
    content_type: &'static str,
    /// Readable by other origins' pages (the client module); everything else
    /// is `Cross-Origin-Resource-Policy: same-origin`.
    shared: bool,
}

const ASSETS: &[Asset] = &[
    Asset {
        paths: &["/debugger", "/debugger/"],
        body: include_str!("../web/debugger/index.html"),
        content_type: HTML,
        shared: false,
    },
    Asset {
        paths: &["/assets/debugger.js"],
        body: include_str!("../web/debugger/debugger.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/jwt.js"],
        body: include_str!("../web/debugger/jwt.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/jwe.js"],
        body: include_str!("../web/debugger/jwe.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/debugger.css"],
        body: include_str!("../web/debugger/debugger.css"),
        content_type: CSS,
        shared: false,
    },
    Asset {
        paths: &["/demo", "/demo/"],
        body: include_str!("../web/demo/index.html"),
        content_type: HTML,
        shared: false,
    },
    Asset {
        paths: &["/assets/demo.js"],
        body: include_str!("../web/demo/demo.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/demo-passkey.js"],
        body: include_str!("../web/demo/passkey.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/demo-mfa.js"],
        body: include_str!("../web/demo/mfa.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/demo.css"],
        body: include_str!("../web/demo/demo.css"),
        content_type: CSS,
        shared: false,
    },
    Asset {
        paths: &["/assets/tessera.css"],
        body: include_str!("../web/assets/tessera.css"),
        content_type: CSS,
        shared: false,
    },
    Asset {
        paths: &["/assets/account.js"],
        body: include_str!("../web/account/account.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/passkey-login.js"],
        body: include_str!("../web/account/passkey-login.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/assets/account.css"],
        body: include_str!("../web/account/account.css"),
        content_type: CSS,
        shared: false,
    },
    Asset {
        paths: &["/client/tessera-client.js"],
        body: include_str!("../web/client/tessera-client.js"),
        content_type: JS,
        shared: true,
    },
    Asset {
        paths: &["/client/dpop.js"],
        body: include_str!("../web/client/dpop.js"),
        content_type: JS,
        shared: true,
    },
    Asset {
        paths: &["/client/passkey.js"],
        body: include_str!("../web/client/passkey.js"),
        content_type: JS,
        shared: true,
    },
    Asset {
        paths: &["/client/errors.js"],
        body: include_str!("../web/client/errors.js"),
        content_type: JS,
        shared: true,
    },
    Asset {
        paths: &["/client/mfa.js"],
        body: include_str!("../web/client/mfa.js"),
        content_type: JS,
        shared: true,
    },
    Asset {
        paths: &["/client/redirect.js"],
        body: include_str!("../web/client/redirect.js"),
        content_type: JS,
        shared: true,
    },
    Asset {
        paths: &["/client/tessera-client.d.ts"],
        body: include_str!("../web/client/index.d.ts"),
        content_type: TEXT,
        shared: true,
    },
    Asset {
        paths: &["/admin", "/admin/"],
        body: include_str!("../web/admin/index.html"),
        content_type: HTML,
        shared: false,
    },
    Asset {
        paths: &["/admin/console.css"],
        body: include_str!("../web/admin/console.css"),
        content_type: CSS,
        shared: false,
    },
    Asset {
        paths: &["/admin/main.js"],
        body: include_str!("../web/admin/main.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/auth.js"],
        body: include_str!("../web/admin/auth.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/api.js"],
        body: include_str!("../web/admin/api.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/ui.js"],
        body: include_str!("../web/admin/ui.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/charts.js"],
        body: include_str!("../web/admin/charts.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/overview.js"],
        body: include_str!("../web/admin/overview.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/users.js"],
        body: include_str!("../web/admin/users.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/clients.js"],
        body: include_str!("../web/admin/clients.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/keys.js"],
        body: include_str!("../web/admin/keys.js"),
        content_type: JS,
        shared: false,
    },
    Asset {
        paths: &["/admin/audit.js"],
        body: include_str!("../web/admin/audit.js"),
        content_type: JS,
        shared: false,
    },
];

/// The policy of an asset: the console's under `/admin`, else [`CSP`].
fn csp_of(asset: &Asset) -> &'static str {
    if asset.paths.iter().any(|p| p.starts_with("/admin")) {
        ADMIN_CSP
    } else {
        CSP
    }
}

/// FNV-1a, 64 bits: a content fingerprint for `ETag` (not a security hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The strong `ETag` of each asset, in `ASSETS` order, computed once.
fn etags() -> &'static [HeaderValue] {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                // Hex digits and quotes only: always a valid header value.
                HeaderValue::from_str(&format!("\"{:016x}\"", fnv1a(a.body.as_bytes())))
                    .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
            })
            .collect()
    })
}

/// True when `If-None-Match` names this `etag` (weak comparison, RFC 9110 §13.1.2).
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let want = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").as_bytes() == want)
}

fn serve(index: usize, headers: &HeaderMap) -> Response {
    let (Some(asset), Some(etag)) = (ASSETS.get(index), etags().get(index)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = if not_modified(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp_of(asset)),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static(if asset.shared {
            "cross-origin"
        } else {
            "same-origin"
        }),
    );
    res
}

/// Routes for the embedded browser assets (`GET` and `HEAD`).
pub(crate) fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for (index, asset) in ASSETS.iter().enumerate() {
        for path in asset.paths {
            router = router.route(
                path,
                get(move |headers: HeaderMap| async move { serve(index, &headers) }),
            );
        }
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_per_asset_and_match_if_none_match() {
        let tags = etags();
        assert_eq!(tags.len(), ASSETS.len());
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tags[0]));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"nope\", W/\"x\""),
        );
        assert!(!not_modified(&h, &tags[0]));
        let listed = format!("\"nope\", W/{}", tags[0].to_str().unwrap_or_default());
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&listed).unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        assert!(not_modified(&h, &tags[0]));
        assert!(!not_modified(&h, &tags[1]));
    }

    #[test]
    fn the_console_has_its_own_narrow_policy() {
        let console: Vec<&Asset> = ASSETS
            .iter()
            .filter(|a| a.paths[0].starts_with("/admin"))
            .collect();
        assert!(console.len() > 5);
        for a in &console {
            assert_eq!(csp_of(a), ADMIN_CSP, "{:?}", a.paths);
        }
        assert!(ADMIN_CSP.contains("frame-ancestors 'none'"));
        assert!(ADMIN_CSP.contains("form-action 'self'"));
        assert!(!ADMIN_CSP.contains("unsafe"));
        let debugger = ASSETS.iter().find(|a| a.paths[0] == "/debugger");
        assert_eq!(debugger.map(csp_of), Some(CSP));
        // Every console module is served (the page imports them by path).
        for a in console.iter().filter(|a| a.content_type == JS) {
            for line in a.body.lines().filter(|l| l.starts_with("import ")) {
                let Some(from) = line.split('\'').nth(1) else {
                    continue;
                };
                let path = format!("/admin/{}", from.trim_start_matches("./"));
                assert!(
                    ASSETS.iter().any(|b| b.paths.contains(&path.as_str())),
                    "{path} imported by {:?} is not served",
                    a.paths
                );
            }
        }
    }

    #[test]
    fn no_inline_script_or_style_in_the_pages() {
        // The CSP forbids inline code; a page that relied on it would break.
        for a in ASSETS.iter().filter(|a| a.content_type == HTML) {
            assert!(!a.body.contains("<script>"), "{:?}", a.paths);
            assert!(!a.body.contains("<style"), "{:?}", a.paths);
            assert!(!a.body.contains(" style="), "{:?}", a.paths);
            let handler = a.body.match_indices(" on").any(|(i, _)| {
                let rest = &a.body[i + 3..];
                let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
                !name.is_empty() && rest[name.len()..].starts_with('=')
            });
            assert!(!handler, "{:?} has an inline event handler", a.paths);
            assert!(!a.body.contains("http://") && !a.body.contains("https://"));
        }
    }
}
