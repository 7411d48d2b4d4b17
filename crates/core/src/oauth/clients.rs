//! The registry of confidential OAuth clients and their authentication.
//!
//! Client secrets must be high-entropy (at least 32 characters); they are
//! stored as HMAC-SHA-256 under a key derived from the server secret and
//! compared in constant time. That keeps the client-credentials grant fast
//! (no password hash per request) while a database dump alone is useless.

use super::{valid_scope_token, GRANTS, INTROSPECT};
use crate::ctx::{storable, Ctx};
use crate::error::{Error, Result};
use std::sync::Arc;
use tessera_jose::crypto;
use tessera_store::Client;

/// Registering, listing, deleting and authenticating OAuth clients.
#[derive(Clone)]
pub struct Clients {
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

impl Clients {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Clients { ctx }
    }

    fn hash_secret(&self, secret: &str) -> [u8; 32] {
        crypto::hmac_sha256(self.ctx.secret.client_key(), secret.as_bytes())
    }

    /// Registers a confidential client.
    pub async fn create(
        &self,
        id: &str,
        secret: &str,
        scopes: &[String],
        grants: &[String],
    ) -> Result<Client> {
        self.create_with(id, secret, scopes, grants, false).await
    }

    /// [`Clients::create`], and whether the client's token requests must
    /// carry a DPoP proof (RFC 9449).
    pub async fn create_with(
        &self,
        id: &str,
        secret: &str,
        scopes: &[String],
        grants: &[String],
        require_dpop: bool,
    ) -> Result<Client> {
        let bad = |field: &'static str, m: &str| Error::InvalidInput {
            field,
            message: m.into(),
        };
        if id.is_empty()
            || id.len() > 128
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(bad(
                "id",
                "must be 1 to 128 characters of A-Z a-z 0-9 - _ . :",
            ));
        }
        if secret.chars().count() < 32 || secret.len() > 1024 {
            return Err(bad(
                "secret",
                "must be 32 to 1024 characters (use a random secret)",
            ));
        }
        if let Some(s) = scopes.iter().find(|s| !valid_scope_token(s)) {
            return Err(bad("scope", &format!("`{s}` is not a valid scope token")));
        }
        let grants = if grants.is_empty() {
            vec!["client_credentials".to_owned()]
        } else {
            grants.to_vec()
        };
        if let Some(g) = grants
            .iter()
            .find(|g| !GRANTS.contains(&g.as_str()) && g.as_str() != INTROSPECT)
        {
            return Err(bad(
                "grant",
                &format!("`{g}` is not one of {}, {INTROSPECT}", GRANTS.join(", ")),
            ));
        }
        let client = Client {
            id: id.to_owned(),
            secret_hash: self.hash_secret(secret).to_vec(),
            scopes: scopes.to_vec(),
            grants,
            created_at: self.ctx.now(),
            require_dpop,
        };
        match self.ctx.store.create_client(&client).await {
            Ok(()) => Ok(client),
            Err(tessera_store::StoreError::Conflict) => {
                Err(bad("id", "a client with this id exists"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// All clients.
    pub async fn list(&self) -> Result<Vec<Client>> {
        Ok(self.ctx.store.clients().await?)
    }

    /// Deletes a client; false if there was none.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.ctx.store.delete_client(id).await?)
    }

    /// Authenticates a client by id and secret (constant-time; an unknown id
    /// costs the same as a wrong secret).
    pub async fn authenticate(&self, id: &str, secret: &str) -> Result<Client> {
        let presented = self.hash_secret(secret);
        if !storable(id) {
            return Err(Error::InvalidClient);
        }
        let client = self.ctx.store.client(id).await?;
        let stored = client
            .as_ref()
            .map_or(&[0u8; 32][..], |c| c.secret_hash.as_slice());
        let matches = crypto::constant_time_eq(&presented, stored);
        match client {
            Some(c) if matches => Ok(c),
            _ => Err(Error::InvalidClient),
        }
    }
}
