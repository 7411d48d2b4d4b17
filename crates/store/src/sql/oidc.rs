//! The [`OidcStore`] role, implemented once for every [`SqlBackend`]:
//! authorization codes (marked used, never deleted before they expire, so a
//! replay is recognised) and remembered consent.

use super::exec::{args, Exec};
use super::rows;
use super::SqlBackend;
use crate::{AuthCode, CodeUse, Consent, OidcStore, Result};
use async_trait::async_trait;

const CODE_COLS: &str =
    "code_hash, client_id, user_id, data, created_at, expires_at, used_at, session_id";

#[async_trait]
impl<B: SqlBackend> OidcStore for B {
    async fn insert_code(&self, c: &AuthCode) -> Result<()> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "INSERT INTO auth_codes (code_hash, client_id, user_id, data, created_at, \
                 expires_at, used_at, session_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                args![
                    &c.code_hash,
                    &c.client_id,
                    &c.user_id,
                    &c.data,
                    c.created_at,
                    c.expires_at,
                    c.used_at,
                    &c.session_id,
                ],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn use_code(&self, hash: &[u8], now: i64, session_id: Option<&str>) -> Result<CodeUse> {
        // The fresh use answers with the row (one round trip); only a
        // replay or an unknown code reads it again.
        let sql = format!(
            "UPDATE auth_codes SET used_at = $2, session_id = COALESCE($3, session_id) \
             WHERE code_hash = $1 AND used_at IS NULL RETURNING {CODE_COLS}"
        );
        let won = {
            let _turn = self.write_turn().await;
            self.pool()
                .fetch_optional(&sql, args![hash, now, session_id])
                .await
                .map_err(B::error)?
        };
        if let Some(row) = won {
            return Ok(CodeUse::Fresh(rows::auth_code(&row).map_err(B::error)?));
        }
        let sql = format!("SELECT {CODE_COLS} FROM auth_codes WHERE code_hash = $1");
        let row = self
            .pool()
            .fetch_optional(&sql, args![hash])
            .await
            .map_err(B::error)?;
        let Some(row) = row else {
            return Ok(CodeUse::Unknown);
        };
        Ok(CodeUse::Replayed(rows::auth_code(&row).map_err(B::error)?))
    }

    async fn set_code_session(&self, hash: &[u8], session_id: &str) -> Result<()> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE auth_codes SET session_id = $2 WHERE code_hash = $1",
                args![hash, session_id],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn purge_codes(&self, before: i64) -> Result<u64> {
        self.pool()
            .execute(
                "DELETE FROM auth_codes WHERE expires_at < $1",
                args![before],
            )
            .await
            .map_err(B::error)
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        at: i64,
    ) -> Result<()> {
        let _turn = self.write_turn().await;
        for scope in scopes {
            self.pool()
                .execute(
                    "INSERT INTO consents (user_id, client_id, scope, granted_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id, scope) DO NOTHING",
                    args![user_id, client_id, scope, at],
                )
                .await
                .map_err(B::error)?;
        }
        Ok(())
    }

    async fn consents(&self, user_id: &str) -> Result<Vec<Consent>> {
        let found = self
            .pool()
            .fetch_all(
                "SELECT user_id, client_id, scope, granted_at FROM consents \
                 WHERE user_id = $1 ORDER BY client_id, scope",
                args![user_id],
            )
            .await;
        found
            .and_then(|r| rows::all(r, rows::consent))
            .map_err(B::error)
    }

    async fn revoke_consent(&self, user_id: &str, client_id: &str) -> Result<u64> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "DELETE FROM consents WHERE user_id = $1 AND client_id = $2",
                args![user_id, client_id],
            )
            .await
            .map_err(B::error)
    }
}
