//! Header size caps: oversized headers get a JSON 431 before any handler runs.

use crate::support::TestServer;

#[tokio::test]
async fn oversized_headers_get_a_json_431() {
    let t = TestServer::start().await;
    let big = "a".repeat(20 * 1024);
    let r = t
        .http
        .get(t.url("/healthz"))
        .header("x-padding", &big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 431);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "request_header_fields_too_large");
    // A huge bearer token is refused the same way, before any verification.
    let r = t
        .http
        .get(t.url("/v1/me"))
        .bearer_auth(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 431);
    // Just under the cap is fine.
    let ok = "a".repeat(12 * 1024);
    let r = t
        .http
        .get(t.url("/healthz"))
        .header("x-padding", &ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let small = TestServer::start_with(|c| c.max_header_bytes = 2048).await;
    let r = small
        .http
        .get(small.url("/healthz"))
        .header("x-padding", "b".repeat(3000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 431, "the cap is configurable");
}
