//! Rows to records, shared by both SQL backends, and the text encoding of
//! string lists (roles, scopes, grants: a JSON array in a text column).

use super::exec::RowExt;
use crate::{AuditEvent, AuditRecord, Client, KeyRecord, OneTimeToken, Session, User};

type Row<T> = Result<T, sqlx::Error>;

/// A JSON array of strings; an unreadable value reads as empty.
pub(crate) fn list_from(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A JSON array of strings.
pub(crate) fn list_to(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// The column list each mapper reads, as a literal for `concat!`:
/// `cols!(user)`, `cols!(session)`, `cols!(key)`, `cols!(audit)`, `cols!(client)`.
macro_rules! cols {
    (user) => {
        "id, email, password_hash, roles, created_at, email_verified_at, disabled_at, \
         last_login_at"
    };
    (session) => {
        "id, user_id, created_at, last_used_at, expires_at, idle_expires_at, revoked_at, \
         revoked_reason, user_agent, ip, generation, token_hash, rotated_at, client_id, rotated_by, \
         dpop_jkt, scope, sso_id"
    };
    (key) => {
        "kid, alg, sealed_key, public_jwk, created_at, activates_at, retired_at"
    };
    (audit) => {
        "id, at, event, user_id, session_id, ip, user_agent, detail, count, last_at, actor, \
         client_id"
    };
    (client) => {
        "id, secret_hash, scopes, grants, created_at, redirect_uris, post_logout_redirect_uris, \
         public_client, first_party, id_token_alg, require_dpop, id_token_encrypted_response_alg, \
         id_token_encrypted_response_enc, jwks"
    };
    (one_time_token) => {
        "token_hash, purpose, user_id, email, created_at, expires_at"
    };
}
pub(crate) use cols;

pub(crate) fn user(row: &impl RowExt) -> Row<User> {
    Ok(User {
        id: row.text("id")?,
        email: row.text("email")?,
        password_hash: row.text("password_hash")?,
        roles: list_from(&row.text("roles")?),
        created_at: row.int("created_at")?,
        email_verified_at: row.opt_int("email_verified_at")?,
        disabled_at: row.opt_int("disabled_at")?,
        last_login_at: row.opt_int("last_login_at")?,
    })
}

pub(crate) fn one_time_token(row: &impl RowExt) -> Row<OneTimeToken> {
    Ok(OneTimeToken {
        token_hash: row.bytes("token_hash")?,
        purpose: row.text("purpose")?,
        user_id: row.text("user_id")?,
        email: row.opt_text("email")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

pub(crate) fn session(row: &impl RowExt) -> Row<Session> {
    Ok(Session {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        created_at: row.int("created_at")?,
        last_used_at: row.int("last_used_at")?,
        expires_at: row.int("expires_at")?,
        idle_expires_at: row.int("idle_expires_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        revoked_reason: row.opt_text("revoked_reason")?,
        user_agent: row.opt_text("user_agent")?,
        ip: row.opt_text("ip")?,
        generation: row.int("generation")?,
        token_hash: row.bytes("token_hash")?,
        rotated_at: row.opt_int("rotated_at")?,
        client_id: row.opt_text("client_id")?,
        rotated_by: row.opt_bytes("rotated_by")?,
        dpop_jkt: row.opt_text("dpop_jkt")?,
        scope: row.opt_text("scope")?,
        sso_id: row.opt_text("sso_id")?,
    })
}

/// A session and its user (left join: the user may be gone).
pub(crate) const SESSION_WITH_USER: &str = "SELECT s.id, s.user_id, s.created_at, \
    s.last_used_at, s.expires_at, s.idle_expires_at, s.revoked_at, s.revoked_reason, \
    s.user_agent, s.ip, s.generation, s.token_hash, s.rotated_at, s.client_id, s.rotated_by, s.dpop_jkt, s.scope, s.sso_id, u.email AS u_email, \
    u.password_hash AS u_password_hash, u.roles AS u_roles, u.created_at AS u_created_at, \
    u.email_verified_at AS u_email_verified_at, u.disabled_at AS u_disabled_at, \
    u.last_login_at AS u_last_login_at \
    FROM sessions s LEFT JOIN users u ON u.id = s.user_id AND u.deleted_at IS NULL \
    WHERE s.id = $1";

pub(crate) fn session_with_user(row: &impl RowExt) -> Row<(Session, Option<User>)> {
    let session = session(row)?;
    let user = match row.opt_text("u_email")? {
        None => None,
        Some(email) => Some(User {
            id: session.user_id.clone(),
            email,
            password_hash: row.text("u_password_hash")?,
            roles: list_from(&row.text("u_roles")?),
            created_at: row.int("u_created_at")?,
            email_verified_at: row.opt_int("u_email_verified_at")?,
            disabled_at: row.opt_int("u_disabled_at")?,
            last_login_at: row.opt_int("u_last_login_at")?,
        }),
    };
    Ok((session, user))
}

pub(crate) fn key(row: &impl RowExt) -> Row<KeyRecord> {
    Ok(KeyRecord {
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        sealed_key: row.bytes("sealed_key")?,
        public_jwk: row.text("public_jwk")?,
        created_at: row.int("created_at")?,
        activates_at: row.int("activates_at")?,
        retired_at: row.opt_int("retired_at")?,
    })
}

pub(crate) fn audit(row: &impl RowExt) -> Row<AuditRecord> {
    Ok(AuditRecord {
        id: row.int("id")?,
        event: AuditEvent {
            at: row.int("at")?,
            event: row.text("event")?,
            user_id: row.opt_text("user_id")?,
            session_id: row.opt_text("session_id")?,
            ip: row.opt_text("ip")?,
            user_agent: row.opt_text("user_agent")?,
            detail: row.opt_text("detail")?,
            actor: row.opt_text("actor")?,
            client_id: row.opt_text("client_id")?,
        },
        count: row.int("count")?,
        last_at: row.opt_int("last_at")?,
    })
}

pub(crate) fn client(row: &impl RowExt) -> Row<Client> {
    Ok(Client {
        id: row.text("id")?,
        secret_hash: row.bytes("secret_hash")?,
        scopes: list_from(&row.text("scopes")?),
        grants: list_from(&row.text("grants")?),
        created_at: row.int("created_at")?,
        redirect_uris: list_from(&row.text("redirect_uris")?),
        post_logout_redirect_uris: list_from(&row.text("post_logout_redirect_uris")?),
        public: row.int("public_client")? != 0,
        first_party: row.int("first_party")? != 0,
        id_token_alg: row.opt_text("id_token_alg")?,
        require_dpop: row.int("require_dpop")? != 0,
        id_token_enc_alg: row.opt_text("id_token_encrypted_response_alg")?,
        id_token_enc_enc: row.opt_text("id_token_encrypted_response_enc")?,
        jwks: row.opt_text("jwks")?,
    })
}

pub(crate) fn auth_code(row: &impl RowExt) -> Row<crate::AuthCode> {
    Ok(crate::AuthCode {
        code_hash: row.bytes("code_hash")?,
        client_id: row.text("client_id")?,
        user_id: row.text("user_id")?,
        data: row.text("data")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
        session_id: row.opt_text("session_id")?,
    })
}

pub(crate) fn consent(row: &impl RowExt) -> Row<crate::Consent> {
    Ok(crate::Consent {
        user_id: row.text("user_id")?,
        client_id: row.text("client_id")?,
        scope: row.text("scope")?,
        granted_at: row.int("granted_at")?,
    })
}

/// Maps every row, stopping at the first that does not read.
pub(crate) fn all<R, T>(rows: Vec<R>, map: impl Fn(&R) -> Row<T>) -> Row<Vec<T>> {
    rows.iter().map(map).collect()
}
