//! The admin console's OAuth client (`/admin`, issue 20).
//!
//! The console is a first-party public client: it signs in with the
//! authorization code flow and PKCE (S256) through the hosted login page, and
//! asks `/oauth2/token` for cookie delivery (`cookie=true`) so its refresh
//! token lives in the HttpOnly refresh cookie, never in JavaScript. Its
//! access token lives in the page's memory only; every action goes through
//! the admin JSON API, which checks the `admin` role in the store.
//!
//! [`seed`] registers the client at server start when it is missing:
//! id [`CLIENT_ID`], public, first-party, grants `authorization_code` and
//! `refresh_token`, redirect URI `<issuer>/admin/`. An existing registration
//! is left as the operator made it (`tessera clients update tessera-console`
//! changes it; deleting it makes the next start recreate it).

use crate::config::Config;
use tessera_core::oauth::ClientSpec;
use tessera_core::App;

/// The console's client id.
pub const CLIENT_ID: &str = "tessera-console";

/// The console's redirect URI for this configuration: `<issuer>/admin/`.
pub fn redirect_uri(cfg: &Config) -> String {
    format!("{}/admin/", cfg.issuer())
}

/// The registration [`seed`] creates.
fn spec(cfg: &Config) -> ClientSpec {
    let mut spec = ClientSpec::new(CLIENT_ID);
    spec.public = true;
    spec.first_party = true;
    spec.grants = vec!["authorization_code".into(), "refresh_token".into()];
    spec.redirect_uris = vec![redirect_uri(cfg)];
    spec.post_logout_redirect_uris = vec![redirect_uri(cfg)];
    spec
}

/// Registers the console's client if it is missing. A failure is logged, not
/// fatal: the server serves everything else, and the console says it cannot
/// sign in.
pub async fn seed(app: &App, cfg: &Config) {
    match app.clients.get(CLIENT_ID).await {
        Ok(Some(c)) => {
            let want = redirect_uri(cfg);
            if !c.redirect_uris.contains(&want) {
                tracing::warn!(
                    client = CLIENT_ID,
                    redirect_uri = %want,
                    "the admin console's client does not list this issuer's /admin/ redirect URI; \
                     the console cannot sign in until it does (tessera clients update)"
                );
            }
        }
        Ok(None) => match app.clients.register(&spec(cfg)).await {
            Ok(_) => tracing::info!(client = CLIENT_ID, "registered the admin console's client"),
            Err(e) => tracing::warn!(error = %e, "cannot register the admin console's client"),
        },
        Err(e) => tracing::warn!(error = %e, "cannot read the admin console's client"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_spec_is_a_first_party_public_code_client() {
        let cfg = Config {
            issuer: Some("https://auth.example/".into()),
            ..Config::default()
        };
        let s = spec(&cfg);
        assert_eq!(s.id, CLIENT_ID);
        assert!(s.public && s.first_party && s.secret.is_none());
        assert_eq!(
            s.redirect_uris,
            vec!["https://auth.example/admin/".to_owned()]
        );
        assert!(s.grants.iter().any(|g| g == "refresh_token"));
    }
}
