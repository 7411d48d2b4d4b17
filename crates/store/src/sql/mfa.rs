//! The [`MfaStore`] role, implemented once for every [`SqlBackend`]: second
//! factors (with their forward-only counter, the replay guard of TOTP),
//! recovery-code hashes, and the pending second steps of logins (marked
//! spent, never deleted before they expire, so a replay is recognised).

use super::exec::{args, Exec};
use super::rows;
use super::SqlBackend;
use crate::{MfaChallenge, MfaFactor, MfaStore, Result};
use async_trait::async_trait;

const FACTOR_COLS: &str = "user_id, kind, id, secret, data, counter, created_at, confirmed_at";
const CHALLENGE_COLS: &str = "token_hash, user_id, purpose, data, created_at, expires_at, used_at";

#[async_trait]
impl<B: SqlBackend> MfaStore for B {
    async fn put_factor(&self, f: &MfaFactor) -> Result<bool> {
        let _turn = self.write_turn().await;
        let pool = self.pool();
        pool.execute(
            "DELETE FROM mfa_factors WHERE user_id = $1 AND kind = $2 AND id = $3 \
             AND confirmed_at IS NULL",
            args![&f.user_id, &f.kind, &f.id],
        )
        .await
        .map_err(B::error)?;
        let sql = format!(
            "INSERT INTO mfa_factors ({FACTOR_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (user_id, kind, id) DO NOTHING"
        );
        let n = pool
            .execute(
                &sql,
                args![
                    &f.user_id,
                    &f.kind,
                    &f.id,
                    &f.secret,
                    &f.data,
                    f.counter,
                    f.created_at,
                    f.confirmed_at,
                ],
            )
            .await
            .map_err(B::error)?;
        Ok(n == 1)
    }

    async fn factors(&self, user_id: &str) -> Result<Vec<MfaFactor>> {
        let sql =
            format!("SELECT {FACTOR_COLS} FROM mfa_factors WHERE user_id = $1 ORDER BY kind, id");
        let found = self.pool().fetch_all(&sql, args![user_id]).await;
        found
            .and_then(|r| rows::all(r, rows::mfa_factor))
            .map_err(B::error)
    }

    async fn confirm_factor(
        &self,
        user_id: &str,
        kind: &str,
        id: &str,
        counter: i64,
        at: i64,
    ) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE mfa_factors SET confirmed_at = $4, counter = $5 WHERE user_id = $1 \
                 AND kind = $2 AND id = $3 AND confirmed_at IS NULL",
                args![user_id, kind, id, at, counter],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn advance_factor(
        &self,
        user_id: &str,
        kind: &str,
        id: &str,
        counter: i64,
    ) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE mfa_factors SET counter = $4 WHERE user_id = $1 AND kind = $2 \
                 AND id = $3 AND counter < $4",
                args![user_id, kind, id, counter],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn delete_factors(&self, user_id: &str, kind: Option<&str>) -> Result<u64> {
        let _turn = self.write_turn().await;
        let pool = self.pool();
        let done = match kind {
            Some(k) => {
                pool.execute(
                    "DELETE FROM mfa_factors WHERE user_id = $1 AND kind = $2",
                    args![user_id, k],
                )
                .await
            }
            None => {
                pool.execute("DELETE FROM mfa_factors WHERE user_id = $1", args![user_id])
                    .await
            }
        };
        done.map_err(B::error)
    }

    async fn set_recovery_codes(&self, user_id: &str, hashes: &[Vec<u8>], at: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        let pool = self.pool();
        pool.execute(
            "DELETE FROM recovery_codes WHERE user_id = $1",
            args![user_id],
        )
        .await
        .map_err(B::error)?;
        for h in hashes {
            pool.execute(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, code_hash) DO NOTHING",
                args![user_id, h, at],
            )
            .await
            .map_err(B::error)?;
        }
        Ok(())
    }

    async fn unused_recovery_codes(&self, user_id: &str) -> Result<Vec<Vec<u8>>> {
        let found = self
            .pool()
            .fetch_all(
                "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL \
                 ORDER BY code_hash",
                args![user_id],
            )
            .await;
        found
            .and_then(|r| rows::all(r, |row| super::exec::RowExt::bytes(row, "code_hash")))
            .map_err(B::error)
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &[u8], at: i64) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 \
                 AND used_at IS NULL",
                args![user_id, hash, at],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn insert_mfa_challenge(&self, c: &MfaChallenge) -> Result<()> {
        let _turn = self.write_turn().await;
        let sql = format!(
            "INSERT INTO mfa_challenges ({CHALLENGE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        self.pool()
            .execute(
                &sql,
                args![
                    &c.token_hash,
                    &c.user_id,
                    &c.purpose,
                    &c.data,
                    c.created_at,
                    c.expires_at,
                    c.used_at,
                ],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn mfa_challenge(&self, hash: &[u8]) -> Result<Option<MfaChallenge>> {
        let sql = format!("SELECT {CHALLENGE_COLS} FROM mfa_challenges WHERE token_hash = $1");
        let row = self.pool().fetch_optional(&sql, args![hash]).await;
        row.and_then(|r| r.as_ref().map(rows::mfa_challenge).transpose())
            .map_err(B::error)
    }

    async fn spend_mfa_challenge(&self, hash: &[u8], at: i64) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE mfa_challenges SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
                args![hash, at],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn purge_mfa_challenges(&self, before: i64) -> Result<u64> {
        self.pool()
            .execute(
                "DELETE FROM mfa_challenges WHERE expires_at < $1",
                args![before],
            )
            .await
            .map_err(B::error)
    }
}
