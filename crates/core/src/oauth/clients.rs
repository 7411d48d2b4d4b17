//! The registry of confidential OAuth clients and their authentication.
//!
//! Client secrets must be high-entropy (at least 32 characters); they are
//! stored as HMAC-SHA-256 under a key derived from the server secret and
//! compared in constant time. That keeps the client-credentials grant fast
//! (no password hash per request) while a database dump alone is useless.

use super::{valid_scope_token, GRANTS, INTROSPECT};
use crate::ctx::{storable, Ctx};
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use std::collections::HashMap;
use std::sync::Arc;
use tessera_jose::crypto;
use tessera_store::Client;

fn bad(field: &'static str, m: &str) -> Error {
    Error::InvalidInput {
        field,
        message: m.into(),
    }
}

/// A client's registration. `Debug` hides the secret.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientSpec {
    /// Client id: 1 to 128 of `A-Z a-z 0-9 - _ . :`.
    pub id: String,
    /// The secret of a confidential client (at least 32 characters);
    /// `None` for a public client (or, on update, to keep the secret).
    pub secret: Option<String>,
    /// API scopes it may request.
    pub scopes: Vec<String>,
    /// Grant types (empty: `authorization_code` for a client with redirect
    /// URIs or a public one, else `client_credentials`).
    pub grants: Vec<String>,
    /// Redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Public client: no secret, PKCE required.
    pub public: bool,
    /// First-party: no consent page.
    pub first_party: bool,
    /// `id_token_signed_response_alg` (`None`: the server's algorithm).
    pub id_token_alg: Option<String>,
    /// Token requests must carry a DPoP proof (RFC 9449).
    pub require_dpop: bool,
    /// `id_token_encrypted_response_alg` (`None`: ID tokens are only signed).
    pub id_token_enc_alg: Option<String>,
    /// `id_token_encrypted_response_enc` (`None` with an alg: A128CBC-HS256).
    pub id_token_enc_enc: Option<String>,
    /// The client's public keys (a JWKS, JSON text): one must serve
    /// `id_token_enc_alg`.
    pub jwks: Option<String>,
}

impl std::fmt::Debug for ClientSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSpec")
            .field("id", &self.id)
            .field("scopes", &self.scopes)
            .field("grants", &self.grants)
            .field("redirect_uris", &self.redirect_uris)
            .field("public", &self.public)
            .field("first_party", &self.first_party)
            .finish_non_exhaustive()
    }
}

impl ClientSpec {
    /// A spec with this id and defaults.
    pub fn new(id: impl Into<String>) -> Self {
        ClientSpec {
            id: id.into(),
            ..ClientSpec::default()
        }
    }

    fn check(&self) -> Result<()> {
        let id = &self.id;
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
        if let Some(s) = self.scopes.iter().find(|s| !valid_scope_token(s)) {
            return Err(bad("scope", &format!("`{s}` is not a valid scope token")));
        }
        if let Some(g) = self
            .grants
            .iter()
            .find(|g| !GRANTS.contains(&g.as_str()) && g.as_str() != INTROSPECT)
        {
            return Err(bad(
                "grant",
                &format!("`{g}` is not one of {}, {INTROSPECT}", GRANTS.join(", ")),
            ));
        }
        if self.public {
            if let Some(g) = self
                .grants
                .iter()
                .find(|g| !["authorization_code", "refresh_token"].contains(&g.as_str()))
            {
                return Err(bad(
                    "grant",
                    &format!(
                        "a public client may use authorization_code and refresh_token, not `{g}`"
                    ),
                ));
            }
        }
        let code = self.grants.iter().any(|g| g == "authorization_code")
            || (self.grants.is_empty() && (self.public || !self.redirect_uris.is_empty()));
        if code && self.redirect_uris.is_empty() {
            return Err(bad(
                "redirect_uri",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        let lists = [
            ("redirect_uri", &self.redirect_uris),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uris),
        ];
        for (field, list) in lists {
            if list.len() > 32 {
                return Err(bad(field, "at most 32"));
            }
            for uri in list.iter() {
                crate::oidc::check_redirect_uri(uri).map_err(|m| bad(field, &m))?;
            }
        }
        self.check_encryption()?;
        if let Some(alg) = &self.id_token_alg {
            if alg.parse::<tessera_jose::Algorithm>().is_err() || alg.starts_with("HS") {
                return Err(bad(
                    "id_token_signed_response_alg",
                    "must be an asymmetric JWS algorithm",
                ));
            }
        }
        Ok(())
    }

    /// Encrypted ID tokens: a supported asymmetric alg, a known enc, and
    /// exactly one usable public key in `jwks`.
    fn check_encryption(&self) -> Result<()> {
        use crate::oidc::id_token_enc as e;
        let refused = |(field, m): e::Refusal| bad(field, &m);
        let Some(alg) = &self.id_token_enc_alg else {
            if self.id_token_enc_enc.is_some() {
                return Err(bad(
                    "id_token_encrypted_response_enc",
                    "needs id_token_encrypted_response_alg",
                ));
            }
            if let Some(jwks) = &self.jwks {
                tessera_jose::Jwks::from_json(jwks)
                    .map_err(|e| bad("jwks", &format!("not a JWK Set: {e}")))?;
            }
            return Ok(());
        };
        let alg = e::parse_alg(alg).map_err(refused)?;
        e::parse_enc(self.id_token_enc_enc.as_deref()).map_err(refused)?;
        let Some(jwks) = &self.jwks else {
            return Err(bad(
                "jwks",
                "id_token_encrypted_response_alg needs the client's public key in jwks \
                 (jwks_uri is not supported)",
            ));
        };
        e::key_for(alg, jwks).map_err(refused)?;
        Ok(())
    }
}

/// Registering, listing, deleting and authenticating OAuth clients.
#[derive(Clone)]
pub struct Clients {
    ctx: Arc<Ctx>,
    /// Registrations recently read to authenticate a client, with when
    /// (milliseconds by the clock): reused for `client_cache_ttl`, cleared
    /// by every change this process makes. Unknown ids are never kept.
    recent: Arc<std::sync::Mutex<Recent>>,
}

/// [`Clients::recent`]'s registrations, and a counter of changes: a read
/// that began before a change is not kept after it.
#[derive(Default)]
struct Recent {
    epoch: u64,
    clients: HashMap<String, (Client, i64)>,
}

/// Most registrations [`Clients`] keeps; past it the oldest half goes.
const RECENT_CLIENTS: usize = 1024;

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

impl Clients {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Clients {
            ctx,
            recent: Default::default(),
        }
    }

    /// A client for authentication: from [`Clients::recent`] if read less
    /// than `client_cache_ttl` ago, else from the store.
    async fn recent(&self, id: &str) -> Result<Option<Client>> {
        let ttl = i64::try_from(self.ctx.cfg.client_cache_ttl.as_millis()).unwrap_or(i64::MAX);
        if ttl == 0 {
            return Ok(self.ctx.store.client(id).await?);
        }
        let now = self.ctx.now_millis();
        let mut epoch = None;
        if let Ok(recent) = self.recent.lock() {
            if let Some((client, at)) = recent.clients.get(id) {
                if now >= *at && now - *at < ttl {
                    return Ok(Some(client.clone()));
                }
            }
            epoch = Some(recent.epoch);
        }
        let client = self.ctx.store.client(id).await?;
        if let (Some(c), Ok(mut recent)) = (&client, self.recent.lock()) {
            if Some(recent.epoch) != epoch {
                return Ok(client);
            }
            if recent.clients.len() >= RECENT_CLIENTS {
                let mut ages: Vec<i64> = recent.clients.values().map(|(_, at)| *at).collect();
                ages.sort_unstable();
                let cut = ages.get(ages.len() / 2).copied().unwrap_or(i64::MAX);
                recent.clients.retain(|_, (_, at)| *at > cut);
            }
            recent.clients.insert(id.to_owned(), (c.clone(), now));
        }
        Ok(client)
    }

    /// Forgets every recently read registration (after any change).
    fn forget(&self) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.epoch = recent.epoch.wrapping_add(1);
            recent.clients.clear();
        }
    }

    fn hash_secret(&self, secret: &str) -> [u8; 32] {
        crypto::hmac_sha256(self.ctx.secret.client_key(), secret.as_bytes())
    }

    /// Registers a confidential client for the grants that need no browser.
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
        let spec = ClientSpec {
            id: id.to_owned(),
            secret: Some(secret.to_owned()),
            scopes: scopes.to_vec(),
            grants: grants.to_vec(),
            require_dpop,
            ..ClientSpec::default()
        };
        self.register(&spec).await
    }

    /// Registers a client.
    pub async fn register(&self, spec: &ClientSpec) -> Result<Client> {
        let client = self.build(spec, None)?;
        match self.ctx.store.create_client(&client).await {
            Ok(()) => Ok(client),
            Err(tessera_store::StoreError::Conflict) => Err(Error::InvalidInput {
                field: "id",
                message: "a client with this id exists".into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a client's registration; a confidential client without a
    /// new `secret` keeps its secret. `NotFound` if there is no such client.
    pub async fn update(&self, spec: &ClientSpec) -> Result<Client> {
        let old = match storable(&spec.id) {
            true => self.ctx.store.client(&spec.id).await?,
            false => None,
        }
        .ok_or(Error::NotFound("client"))?;
        let client = self.build(spec, Some(&old))?;
        let updated = self.ctx.store.update_client(&client).await;
        self.forget();
        if !updated? {
            return Err(Error::NotFound("client"));
        }
        Ok(client)
    }

    /// [`Clients::register`] as an operator's action: audited
    /// (`client.created`, the client as target, the actor of `info`).
    pub async fn register_as(&self, spec: &ClientSpec, info: &ClientInfo) -> Result<Client> {
        let client = self.register(spec).await?;
        self.ctx
            .audit_client(AuditEvent::ClientCreated, &client.id, info, None)
            .await;
        Ok(client)
    }

    /// [`Clients::update`] as an operator's action (`client.updated`; the
    /// detail says whether the secret changed).
    pub async fn update_as(&self, spec: &ClientSpec, info: &ClientInfo) -> Result<Client> {
        let client = self.update(spec).await?;
        let detail = spec.secret.as_ref().map(|_| "new secret".to_owned());
        self.ctx
            .audit_client(AuditEvent::ClientUpdated, &client.id, info, detail)
            .await;
        Ok(client)
    }

    /// [`Clients::delete`] as an operator's action (`client.deleted`).
    pub async fn delete_as(&self, id: &str, info: &ClientInfo) -> Result<bool> {
        let deleted = storable(id) && self.delete(id).await?;
        if deleted {
            self.ctx
                .audit_client(AuditEvent::ClientDeleted, id, info, None)
                .await;
        }
        Ok(deleted)
    }

    /// Gives a confidential client a new random secret, returned this once
    /// (only its keyed hash is stored; the old secret stops working at
    /// once). `NotFound` for no such client; `InvalidInput` for a public
    /// one. Audited (`client.secret_rotated`).
    pub async fn rotate_secret(&self, id: &str, info: &ClientInfo) -> Result<(Client, String)> {
        let mut client = self.get(id).await?.ok_or(Error::NotFound("client"))?;
        if client.public {
            return Err(bad("client_id", "a public client has no secret"));
        }
        let secret = crate::ctx::random_id(32)?;
        client.secret_hash = self.hash_secret(&secret).to_vec();
        let updated = self.ctx.store.update_client(&client).await;
        self.forget();
        if !updated? {
            return Err(Error::NotFound("client"));
        }
        self.ctx
            .audit_client(AuditEvent::ClientSecretRotated, &client.id, info, None)
            .await;
        Ok((client, secret))
    }

    /// One client by id.
    pub async fn get(&self, id: &str) -> Result<Option<Client>> {
        if !storable(id) {
            return Ok(None);
        }
        Ok(self.ctx.store.client(id).await?)
    }

    /// The public client with this id, if there is one: a public client
    /// identifies itself with `client_id` alone (it proves possession of
    /// the code with PKCE, and its refresh tokens are bound to it).
    pub async fn identify_public(&self, id: &str) -> Result<Option<Client>> {
        if !storable(id) {
            return Ok(None);
        }
        Ok(self.recent(id).await?.filter(|c| c.public))
    }

    fn build(&self, spec: &ClientSpec, old: Option<&Client>) -> Result<Client> {
        spec.check()?;
        let server_alg = self.ctx.cfg.signing_alg.as_str();
        let rs256 = self.ctx.id_keys.is_some() || server_alg == "RS256";
        if let Some(alg) = spec
            .id_token_alg
            .as_deref()
            .filter(|a| *a != server_alg && !(rs256 && *a == "RS256"))
        {
            let also = if rs256 { " or RS256" } else { "" };
            return Err(bad(
                "id_token_signed_response_alg",
                &format!("this server signs ID tokens with {server_alg}{also}, not {alg}"),
            ));
        }
        let secret_hash = match (&spec.secret, spec.public, old) {
            (Some(_), true, _) => {
                return Err(bad("secret", "a public client has no secret"));
            }
            (None, true, _) => Vec::new(),
            (Some(s), false, _) => {
                if s.chars().count() < 32 || s.len() > 1024 {
                    return Err(bad(
                        "secret",
                        "must be 32 to 1024 characters (use a random secret)",
                    ));
                }
                self.hash_secret(s).to_vec()
            }
            (None, false, Some(o)) if !o.public => o.secret_hash.clone(),
            (None, false, _) => return Err(bad("secret", "a confidential client needs a secret")),
        };
        let grants = if spec.grants.is_empty() {
            vec![if spec.public || !spec.redirect_uris.is_empty() {
                "authorization_code".to_owned()
            } else {
                "client_credentials".to_owned()
            }]
        } else {
            spec.grants.clone()
        };
        Ok(Client {
            id: spec.id.clone(),
            secret_hash,
            scopes: spec.scopes.clone(),
            grants,
            created_at: old.map_or_else(|| self.ctx.now(), |o| o.created_at),
            redirect_uris: spec.redirect_uris.clone(),
            post_logout_redirect_uris: spec.post_logout_redirect_uris.clone(),
            public: spec.public,
            first_party: spec.first_party,
            id_token_alg: spec.id_token_alg.clone(),
            require_dpop: spec.require_dpop,
            id_token_enc_alg: spec.id_token_enc_alg.clone(),
            id_token_enc_enc: spec.id_token_enc_alg.as_ref().map(|_| {
                spec.id_token_enc_enc
                    .clone()
                    .unwrap_or_else(|| crate::oidc::id_token_enc::DEFAULT_ENC.as_str().to_owned())
            }),
            jwks: spec.jwks.clone(),
        })
    }

    /// All clients.
    pub async fn list(&self) -> Result<Vec<Client>> {
        Ok(self.ctx.store.clients().await?)
    }

    /// Deletes a client; false if there was none.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        let deleted = self.ctx.store.delete_client(id).await;
        self.forget();
        Ok(deleted?)
    }

    /// Authenticates a client by id and secret (constant-time; an unknown id
    /// costs the same as a wrong secret).
    pub async fn authenticate(&self, id: &str, secret: &str) -> Result<Client> {
        let presented = self.hash_secret(secret);
        if !storable(id) {
            return Err(Error::InvalidClient);
        }
        let client = self.recent(id).await?;
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
