//! What the admin commands work on: the rules over the configured store,
//! built from `tessera-core` alone, without the HTTP server's state. The one
//! place to change when core gains `App::open`.

use crate::args::ConfigArgs;
use std::sync::Arc;
use tessera_core::oauth::OAuth;
use tessera_core::Auth;
use tessera_jose::SystemClock;
use tessera_store::Store;

/// The services an admin command needs.
pub struct Admin {
    /// Users, sessions and keys.
    pub auth: Arc<Auth>,
    /// OAuth clients.
    pub oauth: OAuth,
    /// The store (for the audit log).
    pub store: Arc<dyn Store>,
}

/// Loads the configuration, opens the store and the secret, and loads the keys.
pub async fn open(args: &ConfigArgs) -> anyhow::Result<Admin> {
    let cfg = args.load()?;
    let auth_cfg = cfg.auth_config()?;
    let store = tessera_server::open_store(&cfg).await?;
    let secret = tessera_server::server_secret(&cfg)?;
    let auth = Arc::new(
        Auth::new(
            store.clone(),
            secret.clone(),
            auth_cfg,
            Arc::new(SystemClock),
        )
        .await?,
    );
    Ok(Admin {
        oauth: OAuth::new(auth.clone(), secret),
        auth,
        store,
    })
}
