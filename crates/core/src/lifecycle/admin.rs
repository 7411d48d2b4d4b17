//! The operator's account actions (`/v1/admin/users/{id}/…` and the CLI).

use super::Lifecycle;
use crate::ctx::storable;
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use tessera_store::User;

impl Lifecycle {
    async fn user(&self, user_id: &str) -> Result<User> {
        if !storable(user_id) {
            return Err(Error::NotFound("user"));
        }
        self.ctx
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Disables an account: it can no longer log in or refresh, and every
    /// session ends (they appear in the revocation feed). Idempotent.
    pub async fn disable_user(&self, user_id: &str, info: &ClientInfo) -> Result<User> {
        let user = self.user(user_id).await?;
        let c = &self.ctx;
        let at = user.disabled_at.unwrap_or_else(|| c.now());
        if !c.store.set_disabled(&user.id, Some(at)).await? {
            return Err(Error::NotFound("user"));
        }
        let n = self.end_sessions(&user.id, None, "user_disabled").await?;
        if user.disabled_at.is_none() {
            let detail = Some(format!("{n} sessions ended"));
            c.audit(AuditEvent::UserDisabled, Some(&user.id), None, info, detail)
                .await;
        }
        self.user(user_id).await
    }

    /// Enables a disabled account again. Idempotent.
    pub async fn enable_user(&self, user_id: &str, info: &ClientInfo) -> Result<User> {
        let user = self.user(user_id).await?;
        let c = &self.ctx;
        if user.disabled() {
            if !c.store.set_disabled(&user.id, None).await? {
                return Err(Error::NotFound("user"));
            }
            c.audit(AuditEvent::UserEnabled, Some(&user.id), None, info, None)
                .await;
        }
        self.user(user_id).await
    }

    /// Deletes an account (as [`Lifecycle::delete_account`], without the
    /// password).
    pub async fn delete_user(&self, user_id: &str, info: &ClientInfo) -> Result<()> {
        let user = self.user(user_id).await?;
        self.delete(&user, info, Some("by an operator".into()))
            .await
    }

    /// Sends the password-reset mail to an account (an operator's help).
    pub async fn send_password_reset(&self, user_id: &str, info: &ClientInfo) -> Result<()> {
        let user = self.user(user_id).await?;
        if user.disabled() {
            return Err(Error::AccountDisabled);
        }
        self.send_reset(&user).await?;
        let detail = Some("by an operator".to_owned());
        self.ctx
            .audit(
                AuditEvent::PasswordResetRequested,
                Some(&user.id),
                None,
                info,
                detail,
            )
            .await;
        Ok(())
    }

    /// Sets a user's password (an operator's `tessera users set-password`):
    /// the registration policy applies, every session ends.
    pub async fn set_password(
        &self,
        user_id: &str,
        new_password: &str,
        info: &ClientInfo,
    ) -> Result<()> {
        super::new_password_ok(new_password)?;
        let user = self.user(user_id).await?;
        let c = &self.ctx;
        let hash = c.passwords.hash(new_password).await?;
        if !c.store.set_password_hash(&user.id, &hash).await? {
            return Err(Error::NotFound("user"));
        }
        c.store
            .delete_user_tokens(&user.id, super::Purpose::PasswordReset.as_str())
            .await?;
        let n = self.end_sessions(&user.id, None, "password_set").await?;
        let detail = Some(format!("set by an operator; {n} sessions ended"));
        c.audit(
            AuditEvent::PasswordChanged,
            Some(&user.id),
            None,
            info,
            detail,
        )
        .await;
        self.links
            .notify(crate::mail::MailKind::PasswordChanged, &user.email);
        Ok(())
    }
}
