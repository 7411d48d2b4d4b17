//! The front door, `GET /`: a small page for a browser (what this server
//! is, whether its store is ready, and links to the console, the debugger,
//! the demo, the API docs and discovery), and the same as JSON for
//! anything else.

use crate::state::AppState;
use crate::web;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{ErrorBody, FrontDoor, FrontDoorLinks};

/// The page, with `{{...}}` placeholders filled in (HTML-escaped).
const PAGE: &str = include_str!("../../web/front/index.html");

/// True when the caller prefers HTML: `Accept` names `text/html` (as every
/// browser's navigation does).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let mut parts = t.split(';').map(str::trim);
            let html = parts
                .next()
                .is_some_and(|m| m.eq_ignore_ascii_case("text/html"));
            html && !parts.any(|p| p.replace(' ', "") == "q=0")
        })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The JSON answer.
fn summary(issuer: &str, ready: bool) -> FrontDoor {
    let base = issuer.trim_end_matches('/');
    let at = |path: &str| format!("{base}{path}");
    FrontDoor {
        name: "Tessera".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        issuer: issuer.to_owned(),
        ready,
        links: FrontDoorLinks {
            debugger: at("/debugger"),
            demo: at("/demo"),
            docs: at("/docs"),
            openapi: at("/openapi.json"),
            discovery: at("/.well-known/openid-configuration"),
            jwks: at("/.well-known/jwks.json"),
            console: at("/admin"),
        },
    }
}

fn page(door: &FrontDoor) -> Response {
    let (ready, class) = if door.ready {
        ("ready", "ok")
    } else {
        ("not ready: the database does not answer", "bad")
    };
    let body = PAGE
        .replace("{{version}}", &escape(&door.version))
        .replace("{{issuer}}", &escape(&door.issuer))
        .replace("{{ready_class}}", class)
        .replace("{{ready}}", ready);
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(web::CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    res
}

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    tag = "discovery",
    responses(
        (status = 200, description = "What this server is and where things are: JSON, or for a \
            browser (`Accept: text/html`) a small HTML page with the same content", content(
            (FrontDoor = "application/json"),
            (String = "text/html"),
        )),
        (status = 406, description = "Never: anything that does not ask for HTML gets JSON", body = ErrorBody),
    )
)]
pub(crate) async fn front_door(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let ready = s.app.maintenance.ready().await.is_ok();
    let door = summary(&s.config.issuer(), ready);
    if wants_html(&headers) {
        page(&door)
    } else {
        let mut res = Json(door).into_response();
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_the_rest_json() {
        let mut h = HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(wants_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html;q=0"));
        assert!(!wants_html(&h));
    }

    #[test]
    fn the_page_escapes_the_issuer_and_has_no_inline_code() {
        let door = summary("https://id.example/<x>", true);
        assert_eq!(door.links.console, "https://id.example/<x>/admin");
        let res = page(&door);
        let csp = res.headers().get(header::CONTENT_SECURITY_POLICY);
        assert!(csp.is_some_and(|v| v.to_str().unwrap_or("").contains("frame-ancestors 'none'")));
        assert!(!PAGE.contains("<script") && !PAGE.contains("style=") && !PAGE.contains("<style"));
        assert!(escape("<x>\"") == "&lt;x&gt;&quot;");
    }
}
