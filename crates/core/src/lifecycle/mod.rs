//! The account lifecycle: change and reset passwords, verify and change
//! email, delete an account; and the operator's side (disable, enable,
//! delete, send a reset link, set a password).
//!
//! Emailed links carry single-use tokens: 256 random bits, stored only as
//! their SHA-256, consumed atomically (of concurrent uses exactly one
//! wins), each for one purpose. A token that is unknown, used, expired or
//! for another purpose is [`Error::InvalidLinkToken`], and nothing changes.
//! Mail leaves through the [`Outbox`](crate::mail::Outbox), off the request
//! path: a mail failure never fails the request.
//!
//! Ended sessions are revoked (never deleted), so they appear in the
//! revocation feed; a deleted account keeps its id (for the audit trail)
//! and loses its email and password hash.

mod admin;
mod links;

pub(crate) use links::Links;
pub use links::EMAIL_LINK_TTL;

use crate::claims::Principal;
use crate::ctx::Ctx;
use crate::error::{Error, Result, TokenRefused};
use crate::events::{AuditEvent, ClientInfo};
use crate::live::Forget;
use crate::mail::MailKind;
use crate::throttle::{Action, Limiter};
use links::{token_hash, Purpose};
use std::sync::Arc;
use std::time::Duration;
use tessera_store::{OneTimeToken, User};

/// Password changes and resets, email verification and change, account
/// deletion, and the operator's account actions.
#[derive(Clone)]
pub struct Lifecycle {
    ctx: Arc<Ctx>,
    limiter: Arc<Limiter>,
    links: Arc<Links>,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle").finish_non_exhaustive()
    }
}

/// A policy failure of a new password, named after the request's field.
fn new_password_ok(pw: &str) -> Result<()> {
    crate::check_password(pw).map_err(|e| match e {
        Error::InvalidInput { message, .. } => Error::InvalidInput {
            field: "new_password",
            message,
        },
        other => other,
    })
}

impl Lifecycle {
    pub(crate) fn new(ctx: Arc<Ctx>, limiter: Arc<Limiter>, links: Arc<Links>) -> Self {
        Lifecycle {
            ctx,
            limiter,
            links,
        }
    }

    /// Waits (at most `limit`) until queued mail has been sent or given
    /// up; true if nothing is left (tests, and commands about to exit).
    pub async fn flush_mail(&self, limit: Duration) -> bool {
        self.links.outbox().flush(limit).await
    }

    /// The caller's account (a user's token with a session).
    pub(crate) async fn caller(&self, who: &Principal) -> Result<User> {
        if who.session_id().is_none() {
            return Err(Error::Forbidden("this needs a user's access token"));
        }
        self.ctx
            .store
            .user_by_id(who.user_id())
            .await?
            .ok_or(Error::InvalidToken(TokenRefused::AccountGone))
    }

    /// Checks the caller's current password under the login throttle: a
    /// wrong one counts as a failed login of the account and the address.
    pub(crate) async fn check_current(
        &self,
        user: &User,
        password: &str,
        info: &ClientInfo,
    ) -> Result<()> {
        let key = crate::sessions::account_key(&user.email);
        let ip = info.throttle_key();
        let ticket = self
            .limiter
            .begin_login(&key, ip.as_deref(), self.ctx.now_millis())
            .await
            .map_err(Error::TooManyRequests)?;
        let ok = self
            .ctx
            .passwords
            .verify(Some(&user.password_hash), password)
            .await;
        let now = self.ctx.now_millis();
        match ok {
            Ok(true) => {
                self.limiter.login_succeeded(ticket, now).await;
                Ok(())
            }
            Ok(false) => {
                self.limiter.login_failed(ticket, now).await;
                self.ctx
                    .audit_repeated(AuditEvent::LoginFailure, Some(&user.id), info)
                    .await;
                Err(Error::InvalidCredentials)
            }
            Err(e) => {
                self.limiter.login_abandoned(ticket, now).await;
                Err(e)
            }
        }
    }

    /// Rate limits a mail-sending request per client IP and per account
    /// key (the normalised email, whether or not an account has it).
    async fn mail_rate(&self, account: &str, info: &ClientInfo) -> Result<()> {
        let now = self.ctx.now_millis();
        let ip = info.throttle_key();
        self.limiter
            .rate(Action::MailPerIp, ip.as_deref(), now)
            .await
            .map_err(Error::TooManyRequests)?;
        self.limiter
            .rate(Action::MailPerAccount, Some(account), now)
            .await
            .map_err(Error::TooManyRequests)
    }

    /// Revokes the user's sessions (all, or all but `keep`), so that they
    /// appear in the revocation feed; returns how many.
    pub(crate) async fn end_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
    ) -> Result<usize> {
        let c = &self.ctx;
        let forget = c.forget_on_drop(Forget::User(user_id.to_owned()));
        let ids = match keep {
            Some(k) => {
                c.store
                    .revoke_other_sessions(user_id, k, c.now(), reason)
                    .await?
            }
            None => {
                c.store
                    .revoke_user_sessions(user_id, c.now(), reason)
                    .await?
            }
        };
        forget.committed(!ids.is_empty());
        if !ids.is_empty() {
            c.signal_revoked();
        }
        Ok(ids.len())
    }

    /// `POST /v1/account/password`: a new password for the caller, who
    /// proves the current one (throttled like a login). Every other session
    /// ends; the current one survives. A notice goes to the user's address.
    pub async fn change_password(
        &self,
        who: &Principal,
        current_password: &str,
        new_password: &str,
        info: &ClientInfo,
    ) -> Result<()> {
        let user = self.caller(who).await?;
        new_password_ok(new_password)?;
        self.check_current(&user, current_password, info).await?;
        let hash = self.ctx.passwords.hash(new_password).await?;
        if !self.ctx.store.set_password_hash(&user.id, &hash).await? {
            return Err(Error::InvalidToken(TokenRefused::AccountGone));
        }
        let c = &self.ctx;
        c.store
            .delete_user_tokens(&user.id, Purpose::PasswordReset.as_str())
            .await?;
        let n = self
            .end_sessions(&user.id, who.session_id(), "password_changed")
            .await?;
        let detail = Some(format!("{n} other sessions ended"));
        c.audit(
            AuditEvent::PasswordChanged,
            Some(&user.id),
            who.session_id(),
            info,
            detail,
        )
        .await;
        self.links.notify(MailKind::PasswordChanged, &user.email);
        Ok(())
    }

    /// `POST /v1/auth/password/forgot`: for a known, enabled account, a
    /// reset link by mail. The answer and the work are the same for any
    /// email (one token-table write and one audit row either way; the mail
    /// is sent later), so nothing tells whether an account exists. Rate
    /// limited per IP and per email.
    pub async fn forgot_password(&self, email: &str, info: &ClientInfo) -> Result<()> {
        let email = crate::normalize_email(email)?;
        self.mail_rate(&email, info).await?;
        let c = &self.ctx;
        let user = c.store.user_by_email(&email).await?;
        match user.filter(|u| !u.disabled()) {
            Some(u) => {
                self.send_reset(&u).await?;
                c.audit(
                    AuditEvent::PasswordResetRequested,
                    Some(&u.id),
                    None,
                    info,
                    None,
                )
                .await;
            }
            None => {
                // The same writes as above, changing nothing.
                c.store
                    .delete_user_tokens("", Purpose::PasswordReset.as_str())
                    .await?;
                let detail = Some("no such account".to_owned());
                c.audit(AuditEvent::PasswordResetRequested, None, None, info, detail)
                    .await;
            }
        }
        Ok(())
    }

    async fn send_reset(&self, u: &User) -> Result<()> {
        let ttl = self.ctx.cfg.password_reset_ttl;
        self.links
            .send_link(
                &self.ctx,
                MailKind::PasswordReset,
                Purpose::PasswordReset,
                &u.id,
                &u.email,
                ttl,
            )
            .await
    }

    /// The unexpired token of `text`, if it is one of `purposes`; else
    /// [`Error::InvalidLinkToken`]. Nothing is consumed.
    async fn peek(&self, text: &str, purposes: &[Purpose]) -> Result<(OneTimeToken, Purpose)> {
        let hash = token_hash(text).ok_or(Error::InvalidLinkToken)?;
        let t = self
            .ctx
            .store
            .one_time_token(&hash, self.ctx.now())
            .await?
            .ok_or(Error::InvalidLinkToken)?;
        match Purpose::from_name(&t.purpose) {
            Some(p) if purposes.contains(&p) => Ok((t, p)),
            _ => Err(Error::InvalidLinkToken),
        }
    }

    /// Consumes a peeked token; [`Error::InvalidLinkToken`] if another use
    /// won the race (or it has just expired).
    async fn consume(&self, t: &OneTimeToken, p: Purpose) -> Result<OneTimeToken> {
        self.ctx
            .store
            .consume_one_time_token(&t.token_hash, p.as_str(), self.ctx.now())
            .await?
            .ok_or(Error::InvalidLinkToken)
    }

    /// `POST /v1/auth/password/reset`: a new password with a reset link's
    /// token (single use). Every session of the user ends. The new password
    /// passes the registration policy; a bad token changes nothing.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        info: &ClientInfo,
    ) -> Result<()> {
        new_password_ok(new_password)?;
        let (t, p) = self.peek(token, &[Purpose::PasswordReset]).await?;
        let c = &self.ctx;
        let user = c
            .store
            .user_by_id(&t.user_id)
            .await?
            .filter(|u| !u.disabled())
            .ok_or(Error::InvalidLinkToken)?;
        let hash = c.passwords.hash(new_password).await?;
        let t = self.consume(&t, p).await?;
        if !c.store.set_password_hash(&user.id, &hash).await? {
            return Err(Error::InvalidLinkToken);
        }
        c.store
            .delete_user_tokens(&user.id, Purpose::PasswordReset.as_str())
            .await?;
        // The link reached the address: that verifies it too.
        if let Some(email) = &t.email {
            c.store
                .mark_email_verified(&user.id, email, c.now())
                .await?;
        }
        let n = self.end_sessions(&user.id, None, "password_reset").await?;
        let detail = Some(format!("{n} sessions ended"));
        c.audit(
            AuditEvent::PasswordReset,
            Some(&user.id),
            None,
            info,
            detail,
        )
        .await;
        self.links.notify(MailKind::PasswordChanged, &user.email);
        Ok(())
    }

    /// `POST /v1/auth/email/verify`: uses a verification link's token (from
    /// registration or a resend), or an email-change link's token (which
    /// moves the account to the new address, if it is still free). A
    /// password-reset token is refused.
    pub async fn verify_email(&self, token: &str, info: &ClientInfo) -> Result<()> {
        let (t, p) = self
            .peek(token, &[Purpose::VerifyEmail, Purpose::ChangeEmail])
            .await?;
        let t = self.consume(&t, p).await?;
        let c = &self.ctx;
        let email = t.email.as_deref().ok_or(Error::InvalidLinkToken)?;
        let now = c.now();
        if p == Purpose::VerifyEmail {
            // Cached accounts carry `email_verified`: forget them.
            let forget = c.forget_on_drop(Forget::User(t.user_id.clone()));
            if !c.store.mark_email_verified(&t.user_id, email, now).await? {
                forget.nothing_changed();
                return Err(Error::InvalidLinkToken);
            }
            drop(forget);
            c.audit(
                AuditEvent::EmailVerified,
                Some(&t.user_id),
                None,
                info,
                None,
            )
            .await;
        } else {
            let forget = c.forget_on_drop(Forget::User(t.user_id.clone()));
            match c.store.change_email(&t.user_id, email, now).await {
                Ok(true) => drop(forget),
                Ok(false) | Err(tessera_store::StoreError::Conflict) => {
                    forget.nothing_changed();
                    return Err(Error::InvalidLinkToken);
                }
                Err(e) => return Err(e.into()),
            }
            // Links sent to the old address die with it.
            for purpose in [Purpose::PasswordReset, Purpose::VerifyEmail] {
                c.store
                    .delete_user_tokens(&t.user_id, purpose.as_str())
                    .await?;
            }
            c.audit(AuditEvent::EmailChanged, Some(&t.user_id), None, info, None)
                .await;
        }
        Ok(())
    }

    /// Sends a verification link to a user's current address (after
    /// registration; no mail if already verified).
    pub(crate) async fn send_verification(&self, user: &User) -> Result<()> {
        if user.email_verified() {
            return Ok(());
        }
        self.links
            .send_link(
                &self.ctx,
                MailKind::VerifyEmail,
                Purpose::VerifyEmail,
                &user.id,
                &user.email,
                EMAIL_LINK_TTL,
            )
            .await
    }

    /// `POST /v1/account/email/verify`: the verification link again (rate
    /// limited; nothing is sent if the address is already verified).
    pub async fn resend_verification(&self, who: &Principal, info: &ClientInfo) -> Result<()> {
        let user = self.caller(who).await?;
        self.mail_rate(&user.email, info).await?;
        self.send_verification(&user).await
    }

    /// `POST /v1/account/email`: asks to move the caller to `new_email`,
    /// proving the current password. A confirmation link goes to the new
    /// address and a notice to the old one; the change happens when the
    /// link is used. An address another account holds gets the same answer
    /// (its link then fails), so nothing leaks.
    pub async fn change_email(
        &self,
        who: &Principal,
        new_email: &str,
        current_password: &str,
        info: &ClientInfo,
    ) -> Result<()> {
        let user = self.caller(who).await?;
        let new_email = crate::normalize_email(new_email).map_err(|e| match e {
            Error::InvalidInput { message, .. } => Error::InvalidInput {
                field: "new_email",
                message,
            },
            other => other,
        })?;
        self.check_current(&user, current_password, info).await?;
        self.mail_rate(&new_email, info).await?;
        let c = &self.ctx;
        c.store
            .delete_user_tokens(&user.id, Purpose::ChangeEmail.as_str())
            .await?;
        self.links
            .send_link(
                c,
                MailKind::ChangeEmail,
                Purpose::ChangeEmail,
                &user.id,
                &new_email,
                EMAIL_LINK_TTL,
            )
            .await?;
        self.links.notify(MailKind::EmailChangeNotice, &user.email);
        Ok(())
    }

    /// `DELETE /v1/account`: deletes the caller's account, proving the
    /// current password: every session ends, the personal data goes.
    pub async fn delete_account(
        &self,
        who: &Principal,
        current_password: &str,
        info: &ClientInfo,
    ) -> Result<()> {
        let user = self.caller(who).await?;
        self.check_current(&user, current_password, info).await?;
        self.delete(&user, info, None).await
    }

    /// Ends every session, then deletes the personal data (the id stays
    /// for the audit trail; the email is free again).
    async fn delete(&self, user: &User, info: &ClientInfo, detail: Option<String>) -> Result<()> {
        let n = self.end_sessions(&user.id, None, "account_deleted").await?;
        let c = &self.ctx;
        let forget = c.forget_on_drop(Forget::User(user.id.clone()));
        if !c.store.delete_user_data(&user.id, c.now()).await? {
            forget.nothing_changed();
            return Err(Error::NotFound("user"));
        }
        drop(forget);
        let detail = Some(detail.map_or(format!("{n} sessions ended"), |d| {
            format!("{d}; {n} sessions ended")
        }));
        c.audit(AuditEvent::UserDeleted, Some(&user.id), None, info, detail)
            .await;
        self.links.notify(MailKind::AccountDeleted, &user.email);
        Ok(())
    }
}
