//! Everything that matters survives a restart on the same data directory.

use crate::support::{kid, TestServer};

#[tokio::test]
async fn tokens_sessions_and_keys_survive_a_restart() {
    // A fixed issuer, as in any real deployment (the restarted server listens
    // on another ephemeral port).
    let mut t = TestServer::start_with(|c| c.issuer = Some("http://tessera.test".into())).await;
    let u = t.user("ada@x.io").await;
    let kids_before = t.kids().await;
    assert_eq!(kids_before, vec![kid(&u.tokens.access)]);

    t.advance(60);
    t.restart().await;

    // The same key is published, nothing new was generated.
    assert_eq!(t.kids().await, kids_before);
    // The old access token still works, and still verifies against the JWKS.
    let me = t.me(&u.tokens.access).await.expect(200);
    assert_eq!(me.body["id"].as_str().unwrap(), u.id);
    t.verify(&u.tokens.access).await.unwrap();
    // The refresh token still refreshes; new tokens use the same key.
    let next = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(kid(&next.access), kids_before[0]);
    t.me(&next.access).await.expect(200);
    // The account survived: login and duplicate registration behave.
    t.login("ada@x.io").await;
    t.post(
        "/v1/auth/register",
        &serde_json::json!({ "email": "ada@x.io", "password": crate::support::PASSWORD }),
    )
    .await
    .expect_error(409, "email_taken");
}

#[tokio::test]
async fn revocations_and_rotation_state_survive_a_restart() {
    let mut t = TestServer::start_with(|c| c.issuer = Some("http://tessera.test".into())).await;
    let u = t.user("ada@x.io").await;
    let gone = t.login("ada@x.io").await;
    t.post(
        "/v1/auth/logout",
        &serde_json::json!({ "refresh_token": gone.refresh }),
    )
    .await
    .expect(204);
    let next = t.refresh_ok(&u.tokens.refresh).await;
    t.advance(5);
    t.restart().await;
    // Revoked stays revoked.
    t.me(&gone.access).await.expect_invalid_token();
    t.refresh(&gone.refresh)
        .await
        .expect_error(401, "invalid_grant");
    // The grace window is measured from the stored rotation time, so the
    // parent replayed after the restart still gets the same successor ...
    let replay = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(replay.refresh, next.refresh);
    // ... and after the window it is reuse.
    t.advance(10);
    t.refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.me(&next.access).await.expect_invalid_token();
}
