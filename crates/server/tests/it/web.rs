//! Browser assets: the debugger, the demo and the JS client, served by the binary.

use crate::support::{send, TestServer};
use reqwest::Method;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The headers every page and asset carries.
#[track_caller]
fn assert_hardened(r: &crate::support::Resp, path: &str) {
    assert_eq!(r.header("content-security-policy"), CSP, "{path}");
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(r.header("referrer-policy"), "no-referrer", "{path}");
    assert_eq!(r.header("x-frame-options"), "DENY", "{path}");
    assert_eq!(
        r.header("cross-origin-opener-policy"),
        "same-origin",
        "{path}"
    );
    assert_eq!(r.header("cache-control"), "no-cache", "{path}");
    let etag = r.header("etag");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{path}: etag {etag}"
    );
}

/// `src="/…"`, `href="/…"` and `from '…'` references of a page or module.
fn references(body: &str, base: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["src=\"", "href=\""] {
        for chunk in body.split(marker).skip(1) {
            let target = chunk.split('"').next().unwrap_or_default();
            if target.starts_with("/assets/") || target.starts_with("/client/") {
                out.push(target.to_owned());
            }
        }
    }
    for chunk in body.split(" from '").skip(1) {
        let target = chunk.split('\'').next().unwrap_or_default();
        if let Some(rel) = target.strip_prefix("./") {
            out.push(format!("{base}{rel}"));
        } else if target.starts_with('/') {
            out.push(target.to_owned());
        }
    }
    out
}

#[tokio::test]
async fn pages_are_served_with_strict_security_headers() {
    let t = TestServer::start().await;
    for (path, marker) in [
        (
            "/debugger",
            "<script type=\"module\" src=\"/assets/debugger.js\">",
        ),
        (
            "/debugger/",
            "<script type=\"module\" src=\"/assets/debugger.js\">",
        ),
        ("/demo", "<script type=\"module\" src=\"/assets/demo.js\">"),
        ("/demo/", "<script type=\"module\" src=\"/assets/demo.js\">"),
    ] {
        let r = t.get(path).await.expect(200);
        assert_eq!(
            r.header("content-type"),
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_hardened(&r, path);
        assert_eq!(r.header("cross-origin-resource-policy"), "same-origin");
        assert!(r.text.contains(marker), "{path} lacks {marker}");
        assert!(r
            .text
            .contains("<meta name=\"referrer\" content=\"no-referrer\">"));
    }
    // The pages' navigation links lead somewhere.
    for link in ["/docs/", "/demo", "/debugger"] {
        t.get(link).await.expect(200);
    }
}

#[tokio::test]
async fn every_referenced_asset_is_served_with_its_content_type() {
    let t = TestServer::start().await;
    let mut queue: Vec<String> = vec!["/debugger".into(), "/demo".into()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let r = t.get(&path).await.expect(200);
        assert_hardened(&r, &path);
        let want = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else if path.ends_with(".d.ts") {
            "text/plain; charset=utf-8"
        } else {
            "text/html; charset=utf-8"
        };
        assert_eq!(r.header("content-type"), want, "{path}");
        // Nothing is loaded from anywhere else: no CDN, no absolute URL.
        if !path.ends_with(".d.ts") {
            assert!(
                !r.text.contains("http://") && !r.text.contains("https://"),
                "{path} names an external URL"
            );
        }
        let base = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        queue.extend(references(&r.text, base));
    }
    for must in [
        "/assets/debugger.js",
        "/assets/jwt.js",
        "/assets/jwe.js",
        "/assets/debugger.css",
        "/assets/tessera.css",
        "/assets/demo.js",
        "/assets/demo.css",
        "/client/tessera-client.js",
        "/client/dpop.js",
    ] {
        assert!(
            seen.contains(must),
            "{must} is not reachable from the pages"
        );
    }
    let dts = t.get("/client/tessera-client.d.ts").await.expect(200);
    assert_hardened(&dts, "/client/tessera-client.d.ts");
    assert!(dts.text.contains("export declare class TesseraClient"));
    let client = t.get("/client/tessera-client.js").await.expect(200);
    assert!(client.text.contains("export class TesseraClient"));
    assert_eq!(
        client.header("cross-origin-resource-policy"),
        "cross-origin",
        "apps on other origins may load the client"
    );
}

#[tokio::test]
async fn etags_revalidate_with_304() {
    let t = TestServer::start().await;
    let first = t.get("/assets/debugger.js").await.expect(200);
    let etag = first.header("etag").to_owned();
    let other = t.get("/assets/demo.js").await.expect(200);
    assert_ne!(other.header("etag"), etag, "each asset has its own ETag");
    let again = send(
        t.req(Method::GET, "/assets/debugger.js")
            .header("if-none-match", &etag),
    )
    .await
    .expect(304);
    assert!(again.text.is_empty());
    assert_eq!(again.header("etag"), etag);
    assert_eq!(again.header("content-security-policy"), CSP);
    let weak = send(
        t.req(Method::GET, "/assets/debugger.js")
            .header("if-none-match", format!("\"x\", W/{etag}")),
    )
    .await
    .expect(304);
    assert!(weak.text.is_empty());
    let stale = send(
        t.req(Method::GET, "/assets/debugger.js")
            .header("if-none-match", "\"0000000000000000\""),
    )
    .await
    .expect(200);
    assert_eq!(stale.text, first.text);
    // Another asset's ETag does not match this one.
    send(
        t.req(Method::GET, "/assets/demo.js")
            .header("if-none-match", &etag),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn head_answers_headers_only() {
    let t = TestServer::start().await;
    let r = send(t.req(Method::HEAD, "/debugger")).await.expect(200);
    assert!(r.text.is_empty());
    assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
    assert_hardened(&r, "HEAD /debugger");
}

#[tokio::test]
async fn unknown_assets_are_json_404s_and_other_methods_405() {
    let t = TestServer::start().await;
    for path in [
        "/assets/nope.js",
        "/assets/",
        "/assets/debugger.js/x",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/../Cargo.toml",
        "/client/nope.js",
        "/client/index.d.ts",
        "/debugger/index.html",
        "/web/debugger/index.html",
    ] {
        let r = t.get(path).await;
        assert_eq!(r.status.as_u16(), 404, "{path}: {}", r.text);
        assert_eq!(r.str("error"), "not_found", "{path}");
    }
    let r = t.post("/debugger", &serde_json::json!({})).await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.text);
    assert_eq!(r.str("error"), "method_not_allowed");
}

#[tokio::test]
async fn api_answers_keep_their_own_headers() {
    // The pages' CSP is theirs alone: the JSON API is untouched.
    let t = TestServer::start().await;
    let r = t.get("/.well-known/jwks.json").await.expect(200);
    assert!(r.headers.get("content-security-policy").is_none());
}
