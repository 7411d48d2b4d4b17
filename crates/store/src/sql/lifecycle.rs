//! The [`Lifecycle`] role, implemented once for every [`SqlBackend`]: user
//! states and single-use link tokens. A token is consumed by deleting its
//! row (`DELETE … RETURNING`), which one caller wins.

use super::exec::{args, Exec, RowExt};
use super::rows::{self, cols};
use super::SqlBackend;
use crate::{Lifecycle, OneTimeToken, Result};
use async_trait::async_trait;

#[async_trait]
impl<B: SqlBackend> Lifecycle for B {
    async fn set_disabled(&self, user_id: &str, at: Option<i64>) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE users SET disabled_at = $1 WHERE id = $2 AND deleted_at IS NULL",
                args![at, user_id],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn mark_email_verified(&self, user_id: &str, email: &str, at: i64) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) \
                 WHERE id = $2 AND email = $3 AND deleted_at IS NULL",
                args![at, user_id, email],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn change_email(&self, user_id: &str, new_email: &str, at: i64) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE users SET email = $1, email_verified_at = $2 \
                 WHERE id = $3 AND deleted_at IS NULL",
                args![new_email, at, user_id],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn delete_user_data(&self, user_id: &str, at: i64) -> Result<bool> {
        let _turn = self.write_turn().await;
        // The tombstone email has no `@`: no registration can collide with it.
        let changed = self
            .pool()
            .execute(
                "UPDATE users SET email = 'deleted:' || id, password_hash = '', roles = '[]', \
                 email_verified_at = NULL, disabled_at = COALESCE(disabled_at, $1), \
                 deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
                args![at, user_id],
            )
            .await
            .map_err(B::error)?;
        self.pool()
            .execute(
                "DELETE FROM one_time_tokens WHERE user_id = $1",
                args![user_id],
            )
            .await
            .map_err(B::error)?;
        // Its passkeys go: they would sign in to a deleted account.
        self.pool()
            .execute("DELETE FROM passkeys WHERE user_id = $1", args![user_id])
            .await
            .map_err(B::error)?;
        // Its sessions stay (revoked, for the feed) without where they came from.
        self.pool()
            .execute(
                "UPDATE sessions SET ip = NULL, user_agent = NULL WHERE user_id = $1",
                args![user_id],
            )
            .await
            .map_err(B::error)?;
        Ok(changed == 1)
    }

    async fn revoke_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
        now: i64,
        reason: &str,
    ) -> Result<Vec<String>> {
        let _turn = self.write_turn().await;
        let revoked = self
            .pool()
            .fetch_all(
                "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                 WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL RETURNING id",
                args![now, reason, user_id, keep],
            )
            .await;
        revoked
            .and_then(|r| rows::all(r, |row| row.text("id")))
            .map_err(B::error)
    }

    async fn insert_one_time_token(&self, t: &OneTimeToken) -> Result<()> {
        let _turn = self.write_turn().await;
        let sql = concat!(
            "INSERT INTO one_time_tokens (",
            cols!(one_time_token),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        );
        let values = args![
            &t.token_hash,
            &t.purpose,
            &t.user_id,
            &t.email,
            t.created_at,
            t.expires_at,
        ];
        let done = self.pool().execute(sql, values).await;
        done.map(|_| ()).map_err(B::error)
    }

    async fn one_time_token(&self, hash: &[u8], now: i64) -> Result<Option<OneTimeToken>> {
        let sql = concat!(
            "SELECT ",
            cols!(one_time_token),
            " FROM one_time_tokens WHERE token_hash = $1 AND expires_at > $2"
        );
        let row = self.pool().fetch_optional(sql, args![hash, now]).await;
        row.and_then(|r| r.as_ref().map(rows::one_time_token).transpose())
            .map_err(B::error)
    }

    async fn consume_one_time_token(
        &self,
        hash: &[u8],
        purpose: &str,
        now: i64,
    ) -> Result<Option<OneTimeToken>> {
        let _turn = self.write_turn().await;
        let sql = concat!(
            "DELETE FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 \
             AND expires_at > $3 RETURNING ",
            cols!(one_time_token)
        );
        let row = self
            .pool()
            .fetch_optional(sql, args![hash, purpose, now])
            .await;
        row.and_then(|r| r.as_ref().map(rows::one_time_token).transpose())
            .map_err(B::error)
    }

    async fn delete_user_tokens(&self, user_id: &str, purpose: &str) -> Result<u64> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2",
                args![user_id, purpose],
            )
            .await
            .map_err(B::error)
    }

    async fn purge_one_time_tokens(&self, before: i64) -> Result<u64> {
        self.pool()
            .execute(
                "DELETE FROM one_time_tokens WHERE expires_at < $1",
                args![before],
            )
            .await
            .map_err(B::error)
    }
}
