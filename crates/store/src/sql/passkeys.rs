//! The [`PasskeyStore`] role, implemented once for every [`SqlBackend`]:
//! registered WebAuthn credentials, by user and by credential id.

use super::exec::{args, Exec, RowExt};
use super::SqlBackend;
use crate::{Passkey, PasskeyStore, PasskeyUse, Result};
use async_trait::async_trait;

const COLS: &str = "id, user_id, credential_id, name, data, sign_count, backup_eligible, \
    backup_state, created_at, last_used_at";

fn passkey(row: &impl RowExt) -> std::result::Result<Passkey, sqlx::Error> {
    Ok(Passkey {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        credential_id: row.bytes("credential_id")?,
        name: row.text("name")?,
        data: row.text("data")?,
        sign_count: row.int("sign_count")?,
        backup_eligible: row.int("backup_eligible")? != 0,
        backup_state: row.int("backup_state")? != 0,
        created_at: row.int("created_at")?,
        last_used_at: row.opt_int("last_used_at")?,
    })
}

#[async_trait]
impl<B: SqlBackend> PasskeyStore for B {
    async fn insert_passkey(&self, p: &Passkey) -> Result<()> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "INSERT INTO passkeys (id, user_id, credential_id, name, data, sign_count, \
                 backup_eligible, backup_state, created_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    &p.id,
                    &p.user_id,
                    &p.credential_id,
                    &p.name,
                    &p.data,
                    p.sign_count,
                    i64::from(p.backup_eligible),
                    i64::from(p.backup_state),
                    p.created_at,
                    p.last_used_at,
                ],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn passkeys(&self, user_id: &str) -> Result<Vec<Passkey>> {
        let sql = format!("SELECT {COLS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
        let rows = self
            .pool()
            .fetch_all(&sql, args![user_id])
            .await
            .map_err(B::error)?;
        rows.iter()
            .map(passkey)
            .collect::<std::result::Result<_, _>>()
            .map_err(B::error)
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        let sql = format!("SELECT {COLS} FROM passkeys WHERE credential_id = $1");
        let row = self
            .pool()
            .fetch_optional(&sql, args![credential_id])
            .await
            .map_err(B::error)?;
        row.as_ref().map(passkey).transpose().map_err(B::error)
    }

    async fn record_passkey_use(&self, u: &PasskeyUse<'_>) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE passkeys SET data = $2, sign_count = $3, backup_eligible = $4, \
                 backup_state = $5, last_used_at = $6 WHERE id = $1",
                args![
                    u.id,
                    u.data,
                    u.sign_count,
                    i64::from(u.backup_eligible),
                    i64::from(u.backup_state),
                    u.at,
                ],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "DELETE FROM passkeys WHERE id = $1 AND user_id = $2",
                args![id, user_id],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }
}
