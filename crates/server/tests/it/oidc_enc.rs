//! Encrypted ID tokens (issue 18, OIDC Registration §2): a client with
//! `id_token_encrypted_response_alg` and a `jwks` gets its ID token as a
//! nested JWT (JWS inside a JWE), which only its private key opens.

use crate::oidc::{code_url, qget, validate, WEB_CB, WEB_SECRET};
use crate::support::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_core::oauth::ClientSpec;
use tessera_jose::jwe::{ContentAlgorithm, DecryptionKey, KeyAlgorithm};
use tessera_jose::{KeySet, Validation};

fn public_jwks(key: &DecryptionKey) -> Value {
    let jwk: Value =
        serde_json::from_str(&key.encryption_key().to_jwk().unwrap().to_json()).unwrap();
    json!({ "keys": [jwk] })
}

/// Registers `id` with encryption through the admin API.
async fn register(t: &TestServer, admin: &str, body: Value) -> crate::support::Resp {
    send(
        t.req(Method::POST, "/v1/admin/clients")
            .bearer_auth(admin)
            .json(&body),
    )
    .await
}

async fn flow_for(t: &TestServer, client: &str, key: &DecryptionKey, enc: ContentAlgorithm) {
    let u = t.user(&format!("{client}@x.io")).await;
    let p = [
        ("response_type", "code"),
        ("client_id", client),
        ("scope", "openid email"),
        ("nonce", "n-enc"),
    ];
    let req = validate(t, &p).await.unwrap();
    let code = qget(&code_url(t, &u.id, &req).await, "code").unwrap();
    let r = send(
        t.req(Method::POST, "/oauth2/token")
            .basic_auth(client, Some(WEB_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
            ]),
    )
    .await
    .expect(200);
    let id_token = r.str("id_token");
    assert_eq!(id_token.split('.').count(), 5, "a JWE: {id_token}");
    let header = tessera_jose::jwe::peek_header(id_token, &Default::default()).unwrap();
    assert_eq!(header.cty(), Some("JWT"));
    assert_eq!(header.enc(), enc);
    let keys = KeySet::from_jwks(&t.jwks().await);
    let v = Validation::new(t.issuer().await, client).with_typ(Some("JWT"));
    let c = tessera_jose::jwe::decode_encrypted::<Value>(id_token, key, enc, &keys, &v, &*t.clock)
        .unwrap()
        .claims;
    assert_eq!(c["sub"], u.id.as_str());
    assert_eq!(c["aud"], client);
    assert_eq!(c["nonce"], "n-enc");
    assert_eq!(c["email"], format!("{client}@x.io"));
    // Another key cannot open it.
    let other = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
    assert!(tessera_jose::jwe::decrypt(id_token, &other, enc, &Default::default()).is_err());
    // Userinfo stays plain JSON.
    let info = t
        .get_auth("/oauth2/userinfo", r.str("access_token"))
        .await
        .expect(200);
    assert_eq!(info.body["sub"], u.id.as_str());
}

#[tokio::test]
async fn id_tokens_are_encrypted_to_rsa_and_ecdh_client_keys() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let rsa = DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap();
    let ec = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
    let base = |id: &str| {
        json!({
            "client_id": id,
            "client_secret": WEB_SECRET,
            "redirect_uris": [WEB_CB],
            "first_party": true,
        })
    };
    let mut b = base("rsa-rp");
    b["id_token_encrypted_response_alg"] = json!("RSA-OAEP-256");
    b["jwks"] = public_jwks(&rsa);
    let r = register(&t, &admin.tokens.access, b).await.expect(201);
    // The default enc of OIDC Registration §2.
    assert_eq!(r.body["id_token_encrypted_response_enc"], "A128CBC-HS256");
    assert_eq!(r.body["jwks"]["keys"][0]["kty"], "RSA");
    let mut b = base("ec-rp");
    b["id_token_encrypted_response_alg"] = json!("ECDH-ES");
    b["id_token_encrypted_response_enc"] = json!("A256GCM");
    b["jwks"] = public_jwks(&ec);
    register(&t, &admin.tokens.access, b).await.expect(201);
    flow_for(&t, "rsa-rp", &rsa, ContentAlgorithm::A128CbcHs256).await;
    flow_for(&t, "ec-rp", &ec, ContentAlgorithm::A256Gcm).await;
    let d = t.get("/.well-known/openid-configuration").await.body;
    assert!(d["id_token_encryption_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("RSA-OAEP-256")));
    assert!(!d["id_token_encryption_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("A128KW")));
    assert!(d["id_token_encryption_enc_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("A128CBC-HS256")));
}

#[tokio::test]
async fn bad_encryption_registrations_are_refused() {
    let t = TestServer::start().await;
    let app = &t.server().state().app;
    let ec = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
    let spec = |alg: Option<&str>, enc: Option<&str>, jwks: Option<String>| {
        let mut c = ClientSpec::new("rp");
        c.secret = Some(WEB_SECRET.into());
        c.redirect_uris = vec![WEB_CB.into()];
        c.id_token_enc_alg = alg.map(Into::into);
        c.id_token_enc_enc = enc.map(Into::into);
        c.jwks = jwks;
        c
    };
    let public = public_jwks(&ec).to_string();
    let private = json!({"keys": [serde_json::from_str::<Value>(
        &ec.to_private_jwk().unwrap().to_json()).unwrap()]})
    .to_string();
    let oct = json!({"keys": [{"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAA"}]}).to_string();
    let cases = [
        (
            spec(Some("A128KW"), None, Some(oct)),
            "id_token_encrypted_response_alg",
        ),
        (
            spec(Some("dir"), None, Some(public.clone())),
            "id_token_encrypted_response_alg",
        ),
        (spec(Some("ECDH-ES"), None, Some(private)), "jwks"),
        (
            spec(Some("ECDH-ES"), Some("A512GCM"), Some(public.clone())),
            "id_token_encrypted_response_enc",
        ),
        (
            spec(Some("RSA-OAEP-256"), None, Some(public.clone())),
            "jwks",
        ),
        (spec(Some("ECDH-ES"), None, None), "jwks"),
        (
            spec(None, Some("A128GCM"), None),
            "id_token_encrypted_response_enc",
        ),
        (spec(Some("ECDH-ES"), None, Some("not json".into())), "jwks"),
    ];
    for (c, field) in cases {
        match app.clients.register(&c).await {
            Err(tessera_core::Error::InvalidInput { field: f, .. }) => {
                assert_eq!(f, field, "{c:?}")
            }
            other => panic!("{c:?}: {other:?}"),
        }
    }
    // Two usable keys are ambiguous.
    let two = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
    let mut both = public_jwks(&ec);
    both["keys"]
        .as_array_mut()
        .unwrap()
        .push(public_jwks(&two)["keys"][0].clone());
    assert!(app
        .clients
        .register(&spec(Some("ECDH-ES"), None, Some(both.to_string())))
        .await
        .is_err());
    // Over HTTP, a refusal is a 400 naming the field.
    let admin = t.admin("root@x.io").await;
    let r = register(
        &t,
        &admin.tokens.access,
        json!({"client_id": "x", "client_secret": WEB_SECRET, "redirect_uris": [WEB_CB],
               "id_token_encrypted_response_alg": "A256KW", "jwks": {"keys": []}}),
    )
    .await
    .expect(400);
    assert!(
        r.text.contains("id_token_encrypted_response_alg"),
        "{}",
        r.text
    );
    app.clients
        .register(&spec(Some("ECDH-ES"), None, Some(public)))
        .await
        .unwrap();
}
