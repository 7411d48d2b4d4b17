//! Health, discovery documents, and the JWKS.

use crate::support::{kid, TestServer};
use serde_json::json;

#[tokio::test]
async fn health_and_readiness() {
    let t = TestServer::start().await;
    let r = t.get("/healthz").await.expect(200);
    assert_eq!(r.body, json!({ "status": "ok" }));
    let r = t.get("/readyz").await.expect(200);
    assert_eq!(r.body, json!({ "status": "ready" }));
}

#[tokio::test]
async fn discovery_documents_name_the_issuer_and_jwks() {
    let t = TestServer::start_with(|c| c.issuer = Some("https://auth.example.test/".into())).await;
    let oidc = t.get("/.well-known/openid-configuration").await.expect(200);
    let oauth = t
        .get("/.well-known/oauth-authorization-server")
        .await
        .expect(200);
    assert_eq!(oidc.body, oauth.body);
    let d = &oidc.body;
    assert_eq!(
        d["issuer"], "https://auth.example.test",
        "trailing slash dropped"
    );
    assert_eq!(
        d["jwks_uri"],
        "https://auth.example.test/.well-known/jwks.json"
    );
    assert_eq!(
        d["token_endpoint"],
        "https://auth.example.test/oauth2/token"
    );
    assert_eq!(
        d["tessera_endpoints"]["me"],
        "https://auth.example.test/v1/me"
    );
    // Only what is true (RFC 8414, OIDC Discovery 1.0): the code flow
    // with S256 PKCE, `iss` on the response, ID tokens in the signing
    // algorithm; no dynamic client registration (RFC 7591), no implicit or
    // hybrid response types, no `plain` PKCE.
    let base = "https://auth.example.test";
    assert_eq!(
        d["authorization_endpoint"],
        format!("{base}/oauth2/authorize")
    );
    assert_eq!(d["userinfo_endpoint"], format!("{base}/oauth2/userinfo"));
    assert_eq!(d["end_session_endpoint"], format!("{base}/oauth2/logout"));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["response_modes_supported"], json!(["query"]));
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    // ES256 (the main key) and RS256 (the key every OP must support).
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    assert_eq!(
        d["scopes_supported"],
        json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(
        d["grant_types_supported"],
        json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials",
            "urn:tessera:params:oauth:grant-type:mfa"
        ])
    );
    for claim in [
        "sub",
        "auth_time",
        "nonce",
        "at_hash",
        "email",
        "email_verified",
        "sid",
    ] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)),
            "{claim}"
        );
    }
    assert_eq!(
        d["acr_values_supported"],
        json!([
            "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
            "0"
        ])
    );
    assert!(d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("none")));
    for absent in [
        "registration_endpoint",
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "pushed_authorization_request_endpoint",
    ] {
        assert!(d.get(absent).is_none(), "{absent} is published: {d}");
    }
    assert_eq!(
        d["tessera_endpoints"]["refresh"],
        "https://auth.example.test/v1/auth/refresh"
    );
    assert_eq!(
        d["access_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert!(oidc.header("cache-control").contains("max-age="));
    // Tokens carry exactly that issuer.
    let u = t.user("ada@x.io").await;
    assert_eq!(
        crate::support::claims(&u.tokens.access)["iss"],
        "https://auth.example.test"
    );
    t.verify(&u.tokens.access).await.unwrap();
}

#[tokio::test]
async fn the_default_issuer_is_consistent() {
    let t = TestServer::start().await;
    let d = t.get("/.well-known/openid-configuration").await.expect(200);
    let iss = d.str("issuer").to_owned();
    assert!(iss.starts_with("http://127.0.0.1:"), "{iss}");
    assert_eq!(d.str("jwks_uri"), format!("{iss}/.well-known/jwks.json"));
    let u = t.user("ada@x.io").await;
    assert_eq!(
        crate::support::claims(&u.tokens.access)["iss"],
        iss.as_str()
    );
}

#[tokio::test]
async fn jwks_publishes_public_signing_keys_with_a_cache_lifetime() {
    let t = TestServer::start().await;
    let r = t.get("/.well-known/jwks.json").await.expect(200);
    assert_eq!(r.header("content-type"), "application/jwk-set+json");
    assert_eq!(
        r.header("cache-control"),
        "public, max-age=300, must-revalidate",
        "max-age is the publish lead"
    );
    let keys = r.body["keys"].as_array().unwrap();
    // The main key, and the RS256 key of ID tokens beside it.
    assert_eq!(keys.len(), 2, "{}", r.text);
    let id = keys[1].as_object().unwrap();
    assert_eq!((&id["kty"], &id["alg"]), (&json!("RSA"), &json!("RS256")));
    assert!(id["kid"].as_str().unwrap().starts_with("oidc-"));
    assert!(!id.contains_key("d") && !id.contains_key("p"));
    let k = keys[0].as_object().unwrap();
    assert_eq!(k["kty"], "EC");
    assert_eq!(k["crv"], "P-256");
    assert_eq!(k["alg"], "ES256");
    assert_eq!(k["use"], "sig");
    assert!(!k["kid"].as_str().unwrap().is_empty());
    assert!(k.contains_key("x") && k.contains_key("y"));
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(
            !k.contains_key(private),
            "private member {private} published"
        );
    }
    let u = t.user("ada@x.io").await;
    assert_eq!(kid(&u.tokens.access), k["kid"].as_str().unwrap());
}

#[tokio::test]
async fn other_algorithms_are_published_and_verify() {
    for (alg, kty) in [("EdDSA", "OKP"), ("RS256", "RSA"), ("PS256", "RSA")] {
        let t = TestServer::start_with(|c| {
            c.signing_alg = alg.into();
            c.key_publish_lead = tessera_server::config::Dur(std::time::Duration::from_secs(7200));
        })
        .await;
        let r = t.get("/.well-known/jwks.json").await.expect(200);
        assert_eq!(r.body["keys"][0]["alg"], alg);
        assert_eq!(r.body["keys"][0]["kty"], kty);
        assert_eq!(
            r.header("cache-control"),
            "public, max-age=3600, must-revalidate",
            "max-age is capped at an hour"
        );
        let u = t.user("ada@x.io").await;
        assert_eq!(
            crate::support::parts(&u.tokens.access).header_json["alg"],
            alg
        );
        t.verify(&u.tokens.access).await.unwrap();
        t.me(&u.tokens.access).await.expect(200);
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let t = TestServer::start().await;
    t.get("/healthz").await.expect(200);
    t.get("/v1/no-such-route").await.expect(404);
    let r = t.get("/metrics").await.expect(200);
    assert!(r.header("content-type").starts_with("text/plain"));
    let line = r
        .text
        .lines()
        .find(|l| {
            l.starts_with("tessera_http_requests_total{")
                && l.contains("route=\"/healthz\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no /healthz counter in\n{}", r.text));
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{line}");
    // Paths of unmatched routes never become labels.
    assert!(!r.text.contains("no-such-route"));
}
