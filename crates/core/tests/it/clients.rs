//! Client authentication and its cache (`client_cache_ttl`): this
//! process's changes apply at once; changes committed by another process
//! (here: straight into the store) within the ttl, never later.

use std::time::Duration;
use tessera_core::Error;

const SECRET: &str = "a client secret of some length 0123456789";

async fn env(ttl: Duration) -> crate::Env {
    let env = crate::env_with(tessera_core::AuthConfig {
        client_cache_ttl: ttl,
        ..crate::cfg()
    })
    .await;
    let grants = ["client_credentials".to_owned()];
    env.auth
        .clients
        .create("svc", SECRET, &["api".to_owned()], &grants)
        .await
        .unwrap();
    env
}

fn refused(r: tessera_core::Result<tessera_store::Client>) -> bool {
    matches!(r, Err(Error::InvalidClient))
}

#[tokio::test]
async fn this_processs_secret_rotation_and_deletion_apply_at_once() {
    let env = env(Duration::from_secs(60)).await;
    let clients = &env.auth.clients;
    assert!(clients.authenticate("svc", SECRET).await.is_ok());
    assert!(refused(clients.authenticate("svc", "wrong").await));
    let info = tessera_core::ClientInfo::default();
    let (_, fresh) = clients.rotate_secret("svc", &info).await.unwrap();
    assert!(
        refused(clients.authenticate("svc", SECRET).await),
        "the old secret stops at once"
    );
    assert!(clients.authenticate("svc", &fresh).await.is_ok());
    assert!(clients.delete("svc").await.unwrap());
    assert!(
        refused(clients.authenticate("svc", &fresh).await),
        "a deleted client stops at once"
    );
}

#[tokio::test]
async fn another_processs_change_applies_within_the_ttl() {
    let env = env(Duration::from_millis(1500)).await;
    let clients = &env.auth.clients;
    assert!(clients.authenticate("svc", SECRET).await.is_ok());
    // Another process (the CLI, another instance) deletes the client.
    assert!(env.store.delete_client("svc").await.unwrap());
    env.clock.advance(Duration::from_millis(1400));
    assert!(
        clients.authenticate("svc", SECRET).await.is_ok(),
        "inside the ttl the registration read before may serve"
    );
    env.clock.advance(Duration::from_millis(100));
    assert!(
        refused(clients.authenticate("svc", SECRET).await),
        "at the ttl the store is read again"
    );
}

#[tokio::test]
async fn without_the_cache_every_authentication_reads_the_store() {
    let env = env(Duration::ZERO).await;
    let clients = &env.auth.clients;
    assert!(clients.authenticate("svc", SECRET).await.is_ok());
    assert!(env.store.delete_client("svc").await.unwrap());
    assert!(refused(clients.authenticate("svc", SECRET).await));
}

#[tokio::test]
async fn unknown_clients_are_not_remembered() {
    let env = env(Duration::from_secs(60)).await;
    let clients = &env.auth.clients;
    assert!(refused(clients.authenticate("later", SECRET).await));
    // Registering clears nothing (nothing of "later" may be kept).
    let grants = ["client_credentials".to_owned()];
    clients.create("later", SECRET, &[], &grants).await.unwrap();
    assert!(clients.authenticate("later", SECRET).await.is_ok());
}
