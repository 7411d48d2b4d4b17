//! OAuth 2.0 interop: confidential clients, the client-credentials grant,
//! token revocation (RFC 7009) and introspection (RFC 7662).
//!
//! Client secrets must be high-entropy (at least 32 characters); they are
//! stored as HMAC-SHA-256 under a key derived from the server secret and
//! compared in constant time. That keeps the client-credentials grant fast
//! (no password hash per request) while a database dump alone is useless.

use crate::auth::{AccessClaims, Auth, ClientInfo};
use crate::error::{Error, Result};
use crate::refresh::RefreshToken;
use crate::secret::ServerSecret;
use serde_json::{json, Value};
use std::sync::Arc;
use tessera_jose::{crypto, UnverifiedToken};
use tessera_store::{AuditEvent, Client};

/// Grant types a client may be allowed.
pub const GRANTS: [&str; 3] = ["client_credentials", "password", "refresh_token"];

/// Which kind of token a revocation or introspection request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHint {
    /// `access_token`.
    Access,
    /// `refresh_token`.
    Refresh,
    /// No (or an unknown) hint.
    None,
}

/// A client-credentials access token.
#[derive(Debug, Clone)]
pub struct ClientToken {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scope (space-separated).
    pub scope: String,
}

/// Checks one scope token (RFC 6749 §3.3).
fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// OAuth operations over the core [`Auth`].
pub struct OAuth {
    auth: Arc<Auth>,
    secret: ServerSecret,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").finish_non_exhaustive()
    }
}

impl OAuth {
    /// OAuth on top of `auth`, with the same server secret.
    pub fn new(auth: Arc<Auth>, secret: ServerSecret) -> Self {
        OAuth { auth, secret }
    }

    fn hash_secret(&self, secret: &str) -> [u8; 32] {
        crypto::hmac_sha256(self.secret.client_key(), secret.as_bytes())
    }

    /// Registers a confidential client.
    pub async fn create_client(
        &self,
        id: &str,
        secret: &str,
        scopes: &[String],
        grants: &[String],
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
        if let Some(g) = grants.iter().find(|g| !GRANTS.contains(&g.as_str())) {
            return Err(bad(
                "grant",
                &format!("`{g}` is not one of {}", GRANTS.join(", ")),
            ));
        }
        let client = Client {
            id: id.to_owned(),
            secret_hash: self.hash_secret(secret).to_vec(),
            scopes: scopes.to_vec(),
            grants,
            created_at: self.auth.clock().now(),
        };
        match self.auth.store().create_client(&client).await {
            Ok(()) => Ok(client),
            Err(tessera_store::StoreError::Conflict) => {
                Err(bad("id", "a client with this id exists"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// All clients.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        Ok(self.auth.store().clients().await?)
    }

    /// Deletes a client; false if there was none.
    pub async fn delete_client(&self, id: &str) -> Result<bool> {
        Ok(self.auth.store().delete_client(id).await?)
    }

    /// Authenticates a client by id and secret (constant-time; an unknown id
    /// costs the same as a wrong secret).
    pub async fn authenticate_client(&self, id: &str, secret: &str) -> Result<Client> {
        let presented = self.hash_secret(secret);
        if !crate::auth::storable(id) {
            return Err(Error::InvalidClient);
        }
        let client = self.auth.store().client(id).await?;
        let stored = client
            .as_ref()
            .map_or(&[0u8; 32][..], |c| c.secret_hash.as_slice());
        let matches = crypto::constant_time_eq(&presented, stored);
        match client {
            Some(c) if matches => Ok(c),
            _ => Err(Error::InvalidClient),
        }
    }

    /// Refuses a grant the client is not registered for.
    pub fn check_grant(client: &Client, grant: &'static str) -> Result<()> {
        if client.grants.iter().any(|g| g == grant) {
            Ok(())
        } else {
            Err(Error::UnauthorizedClient(
                "the client may not use this grant type",
            ))
        }
    }

    /// The scope to grant: the requested tokens (each allowed for the
    /// client), or all the client's scopes when none is requested.
    pub fn resolve_scope(client: &Client, requested: Option<&str>) -> Result<String> {
        match requested.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(client.scopes.join(" ")),
            Some(req) => {
                let mut out: Vec<&str> = Vec::new();
                for tok in req.split(' ').filter(|t| !t.is_empty()) {
                    if !valid_scope_token(tok) {
                        return Err(Error::InvalidScope("malformed scope".into()));
                    }
                    if !client.scopes.iter().any(|s| s == tok) {
                        return Err(Error::InvalidScope(format!(
                            "`{tok}` is not allowed for this client"
                        )));
                    }
                    if !out.contains(&tok) {
                        out.push(tok);
                    }
                }
                Ok(out.join(" "))
            }
        }
    }

    /// The client-credentials grant: an access token for the client itself
    /// (`sub` and `client_id` are the client id), with no refresh token.
    pub async fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
        ctx: &ClientInfo,
    ) -> Result<ClientToken> {
        Self::check_grant(client, "client_credentials")?;
        let scope = Self::resolve_scope(client, scope)?;
        let now = self.auth.clock().now();
        let access = self.auth.issue_access(
            &client.id,
            None,
            &[],
            (!scope.is_empty()).then_some(scope.as_str()),
            Some(&client.id),
            now,
        )?;
        let _ = ctx;
        Ok(ClientToken {
            access_token: access,
            expires_in: i64::try_from(self.auth.config().access_token_ttl.as_secs())
                .unwrap_or(i64::MAX),
            scope,
        })
    }

    /// Verifies an access token's signature and claims (not its liveness).
    fn verify_access(&self, token: &str) -> Option<AccessClaims> {
        let now = self.auth.clock().now();
        let keys = self.auth.keys().current(now);
        let v = self.auth.validation();
        UnverifiedToken::parse(token, &v.limits)
            .and_then(|t| t.verify_with(keys.keyset()))
            .and_then(|t| t.validate::<AccessClaims>(v, now))
            .ok()
            .map(|d| d.claims)
    }

    /// RFC 7009: revokes a refresh token (its session ends) or an access
    /// token (its session ends; a session-less token is denylisted until it
    /// expires). Unknown and invalid tokens are not an error.
    pub async fn revoke(&self, token: &str, hint: TokenHint, ctx: &ClientInfo) -> Result<()> {
        let looks_refresh = token.starts_with(crate::refresh::PREFIX);
        if looks_refresh || hint == TokenHint::Refresh {
            if RefreshToken::parse(token).is_ok() {
                return self.auth.logout(token, ctx).await;
            }
            if looks_refresh {
                return Ok(());
            }
        }
        let Some(claims) = self.verify_access(token) else {
            return Ok(());
        };
        let now = self.auth.clock().now();
        let store = self.auth.store();
        match &claims.sid {
            Some(sid) => {
                let _forget = self.auth.forget_on_drop();
                if store.revoke_session(sid, now, "token_revoked").await? {
                    self.auth.signal_revoked();
                    self.audit("token.revoked", Some(&claims.sub), Some(sid), ctx)
                        .await;
                }
            }
            None => {
                store.revoke_token(&claims.jti, claims.exp).await?;
                self.audit("token.revoked", Some(&claims.sub), None, ctx)
                    .await;
            }
        }
        Ok(())
    }

    async fn audit(
        &self,
        event: &str,
        user: Option<&str>,
        session: Option<&str>,
        ctx: &ClientInfo,
    ) {
        let e = AuditEvent {
            at: self.auth.clock().now(),
            event: event.into(),
            user_id: user.map(str::to_owned),
            session_id: session.map(str::to_owned),
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            detail: None,
        };
        if let Err(err) = self.auth.store().audit(&e).await {
            tracing::error!(event, error = %err, "audit write failed");
        }
    }

    /// RFC 7662: `{"active": false}` for anything that is not a live token;
    /// the claims of a live access or refresh token.
    pub async fn introspect(&self, token: &str, hint: TokenHint) -> Result<Value> {
        let inactive = json!({ "active": false });
        if token.starts_with(crate::refresh::PREFIX) || hint == TokenHint::Refresh {
            if let Ok(t) = RefreshToken::parse(token) {
                return self.introspect_refresh(&t).await;
            }
        }
        let Some(claims) = self.verify_access(token) else {
            return Ok(inactive);
        };
        let now = self.auth.clock().now();
        let store = self.auth.store();
        let live = match &claims.sid {
            Some(sid) => store
                .session(sid)
                .await?
                .is_some_and(|s| s.user_id == claims.sub && s.is_live(now)),
            None => !store.is_token_revoked(&claims.jti).await?,
        };
        if !live {
            return Ok(inactive);
        }
        let mut v = serde_json::to_value(&claims).map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("active".into(), Value::Bool(true));
            obj.insert("token_type".into(), Value::from("Bearer"));
            if claims.sid.is_some() {
                obj.insert("username".into(), Value::from(claims.sub.clone()));
            }
        }
        Ok(v)
    }

    async fn introspect_refresh(&self, t: &RefreshToken) -> Result<Value> {
        let now = self.auth.clock().now();
        let store = self.auth.store();
        let Some(session) = store.session(&t.session_id()).await? else {
            return Ok(json!({ "active": false }));
        };
        let current = t.generation() == session.generation
            && crypto::constant_time_eq(&t.hash(), &session.token_hash);
        if !current || !session.is_live(now) {
            return Ok(json!({ "active": false }));
        }
        let user = store.user_by_id(&session.user_id).await?;
        Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "iss": self.auth.config().issuer,
            "sub": session.user_id,
            "sid": session.id,
            "iat": session.rotated_at.unwrap_or(session.created_at),
            "exp": session.expires_at.min(session.idle_expires_at),
            "roles": user.map(|u| u.roles).unwrap_or_default(),
        }))
    }
}
