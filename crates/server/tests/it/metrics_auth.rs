//! `/metrics` behind `metrics_token`, and label cardinality that raw paths
//! and odd methods cannot grow.

use crate::support::{send, TestServer};
use reqwest::Method;

#[tokio::test]
async fn metrics_require_the_configured_bearer_token() {
    let t = TestServer::start_with(|c| c.metrics_token = Some("scrape-me-0123456789".into())).await;
    let r = t.get("/metrics").await.expect_error(401, "unauthorized");
    assert_eq!(r.header("www-authenticate"), "Bearer realm=\"metrics\"");
    for wrong in [
        "Bearer scrape-me",
        "Bearer scrape-me-01234567890",
        "Basic scrape-me-0123456789",
        "scrape-me-0123456789",
    ] {
        let r = send(
            t.req(Method::GET, "/metrics")
                .header("authorization", wrong),
        )
        .await;
        assert_eq!(r.status.as_u16(), 401, "{wrong}");
    }
    let r = send(
        t.req(Method::GET, "/metrics")
            .header("authorization", "Bearer scrape-me-0123456789"),
    )
    .await
    .expect(200);
    assert!(r.text.contains("tessera_http_requests_total"), "{}", r.text);
}

#[tokio::test]
async fn metrics_are_open_without_a_token() {
    let t = TestServer::start().await;
    t.get("/metrics").await.expect(200);
}

#[tokio::test]
async fn route_labels_are_templates_and_methods_are_bounded() {
    let t = TestServer::start().await;
    let marker = "cardinality-probe-5f3a";
    for i in 0..3 {
        send(t.req(Method::DELETE, &format!("/v1/sessions/{marker}-{i}"))).await;
        send(t.req(
            Method::GET,
            &format!("/v1/admin/users/{marker}-{i}/sessions"),
        ))
        .await;
        // Answered 405 outside the route layer today; the label would be
        // `other` anyway (`observe::method_label`).
        let odd = Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        send(t.req(odd, "/v1/sessions/x")).await;
    }
    let text = t.get("/metrics").await.expect(200).text;
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tessera_http_request"))
        .collect();
    assert!(
        series
            .iter()
            .any(|l| l.contains("route=\"/v1/sessions/{id}\"")),
        "{text}"
    );
    for l in &series {
        assert!(!l.contains(marker), "raw path in a label: {l}");
        assert!(!l.contains("PROBE"), "raw method in a label: {l}");
    }
}
