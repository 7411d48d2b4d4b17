//! What the admin commands work on: tessera-core's services over the
//! configured store ([`tessera_core::App::open`]), without the HTTP server's
//! state.

use crate::args::ConfigArgs;
use std::sync::Arc;
use tessera_jose::SystemClock;

/// Loads the configuration and opens the core: the store, the secret, the
/// keys and the services.
pub async fn open(args: &ConfigArgs) -> anyhow::Result<tessera_core::App> {
    let cfg = args.load()?;
    Ok(tessera_server::open_app(&cfg, Arc::new(SystemClock)).await?)
}
