//! Accounts: registration, operator-created users, lookups, roles, and the
//! password and email policy.

use crate::claims::Principal;
use crate::ctx::{random_id, storable, Ctx};
use crate::error::{Error, Result, TokenRefused};
use crate::events::AuditEvent;
use crate::events::ClientInfo;
use crate::lifecycle::Lifecycle;
use crate::live::Account;
use crate::live::Forget;
use crate::throttle::{Action, Limiter};
use std::sync::Arc;
use tessera_store::User;

/// Normalises an email: trimmed, lower-case, and plausibly shaped.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let bad = |m: &str| Error::InvalidInput {
        field: "email",
        message: m.into(),
    };
    if email.is_empty() || email.len() > 254 {
        return Err(bad("must be 1 to 254 characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    match email.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => Err(bad("is not an email address")),
    }
}

/// Checks a new password: 8 to 1024 characters, not on the list of common
/// breached passwords ([`crate::breached`]), no composition rules.
pub fn check_password(pw: &str) -> Result<()> {
    let n = pw.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(Error::InvalidInput {
            field: "password",
            message: "must be 8 to 1024 characters".into(),
        });
    }
    if crate::breached::is_common(pw) {
        return Err(Error::InvalidInput {
            field: "password",
            message: "is too common (it appears in lists of breached passwords); choose another"
                .into(),
        });
    }
    Ok(())
}

/// Valid role names: 1–64 of `[A-Za-z0-9_.:-]`.
pub fn check_roles(roles: &[String]) -> Result<()> {
    if roles.len() > 64 {
        return Err(Error::InvalidInput {
            field: "roles",
            message: "at most 64 roles".into(),
        });
    }
    for r in roles {
        let ok = !r.is_empty()
            && r.len() <= 64
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
        if !ok {
            return Err(Error::InvalidInput {
                field: "roles",
                message: "each role is 1 to 64 characters of A-Z a-z 0-9 _ . : -".into(),
            });
        }
    }
    Ok(())
}

/// Users: who they are and what roles they hold.
#[derive(Clone)]
pub struct Accounts {
    ctx: Arc<Ctx>,
    limiter: Arc<Limiter>,
    lifecycle: Lifecycle,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    pub(crate) fn new(ctx: Arc<Ctx>, limiter: Arc<Limiter>, lifecycle: Lifecycle) -> Self {
        Accounts {
            ctx,
            limiter,
            lifecycle,
        }
    }

    /// Self-registration: rate limited per client IP, refused when
    /// registration is closed.
    pub async fn register(&self, email: &str, password: &str, ctx: &ClientInfo) -> Result<User> {
        let now_ms = self.ctx.now_millis();
        self.limiter
            .rate(Action::Register, ctx.throttle_key().as_deref(), now_ms)
            .await
            .map_err(Error::TooManyRequests)?;
        if !self.ctx.cfg.registration_open {
            return Err(Error::RegistrationClosed);
        }
        let user = self.create_user(email, password, &[]).await?;
        self.ctx
            .audit(AuditEvent::UserRegistered, Some(&user.id), None, ctx, None)
            .await;
        // The account exists either way; a link that could not be issued
        // can be asked for again.
        if let Err(e) = self.lifecycle.send_verification(&user).await {
            tracing::warn!(error = %e, "verification link not issued");
        }
        Ok(user)
    }

    /// Clears the login backoff of `email`'s account (an operator's
    /// `tessera users unlock`), with an audit row. The account must exist;
    /// its addresses keep their own backoff.
    pub async fn unlock(&self, email: &str, by: &ClientInfo) -> Result<User> {
        let email = normalize_email(email)?;
        let user = self
            .ctx
            .store
            .user_by_email(&email)
            .await?
            .ok_or(Error::NotFound("user"))?;
        self.limiter.unlock(&email, self.ctx.now_millis()).await?;
        let detail = Some("login backoff cleared".to_owned());
        self.ctx
            .audit(
                AuditEvent::AccountUnlocked,
                Some(&user.id),
                None,
                by,
                detail,
            )
            .await;
        Ok(user)
    }

    /// Creates a user with roles (operators and admins; ignores `registration`).
    pub async fn create_user(&self, email: &str, password: &str, roles: &[String]) -> Result<User> {
        let email = normalize_email(email)?;
        check_password(password)?;
        check_roles(roles)?;
        let hash = self.ctx.passwords.hash(password).await?;
        let user = User {
            id: random_id(16)?,
            email,
            password_hash: hash,
            roles: roles.to_vec(),
            created_at: self.ctx.now(),
            email_verified_at: None,
            disabled_at: None,
            last_login_at: None,
        };
        match self.ctx.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(tessera_store::StoreError::Conflict) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// [`Accounts::create_user`] as an operator's action: audited
    /// (`user.created`, with the actor of `info`).
    pub async fn create_user_as(
        &self,
        email: &str,
        password: &str,
        roles: &[String],
        info: &ClientInfo,
    ) -> Result<User> {
        let user = self.create_user(email, password, roles).await?;
        let detail = (!roles.is_empty()).then(|| roles.join(","));
        self.ctx
            .audit(AuditEvent::UserCreated, Some(&user.id), None, info, detail)
            .await;
        Ok(user)
    }

    /// Admin: users whose email starts with `prefix` (lower-cased, as
    /// emails are stored), paged by email.
    pub async fn search_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>> {
        if !storable(prefix) || after.is_some_and(|a| !storable(a)) {
            return Err(Error::InvalidInput {
                field: "q",
                message: "must not contain NUL".into(),
            });
        }
        let prefix = prefix.trim().to_lowercase();
        let limit = limit.clamp(1, 500);
        if prefix.is_empty() {
            return Ok(self.ctx.store.list_users(after, limit).await?);
        }
        Ok(self.ctx.store.search_users(&prefix, after, limit).await?)
    }

    /// Admin: one user by id (`NotFound` for an unknown or deleted one).
    pub async fn user(&self, user_id: &str) -> Result<User> {
        if !storable(user_id) {
            return Err(Error::NotFound("user"));
        }
        self.ctx
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// The caller's account.
    pub async fn me(&self, who: &Principal) -> Result<Account> {
        if let Some(sid) = who.session_id() {
            let now = self.ctx.now();
            if let Some(a) = self
                .ctx
                .live
                .account(sid, who.user_id(), now, self.ctx.now_millis())
            {
                return Ok((*a).clone());
            }
        }
        self.ctx
            .store
            .user_by_id(who.user_id())
            .await?
            .map(|u| Account {
                email_verified: u.email_verified(),
                id: u.id,
                email: u.email,
                roles: u.roles,
            })
            .ok_or(Error::InvalidToken(TokenRefused::AccountGone))
    }

    /// Admin: users, paged by email.
    pub async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        if after.is_some_and(|a| !storable(a)) {
            return Err(Error::InvalidInput {
                field: "after",
                message: "must not contain NUL".into(),
            });
        }
        Ok(self
            .ctx
            .store
            .list_users(after, limit.clamp(1, 500))
            .await?)
    }

    /// Admin import: one line of an import file, parsed and checked
    /// ([`crate::import`]), as the user it would create.
    pub fn import_line(&self, line: &str) -> Result<User> {
        crate::import::parse_line(line, random_id(16)?, self.ctx.now())
    }

    /// Admin import: a batch of users from [`Accounts::import_line`] in one
    /// transaction; for each, true if created, false if its email exists.
    pub async fn import_batch(&self, users: &[User]) -> Result<Vec<bool>> {
        Ok(self.ctx.store.import_users(users).await?)
    }

    /// [`Accounts::import_batch`] as an operator's action: one audit row
    /// (`users.imported`, with the actor of `info` and the counts) per batch.
    pub async fn import_batch_as(&self, users: &[User], info: &ClientInfo) -> Result<Vec<bool>> {
        let done = self.import_batch(users).await?;
        let created = done.iter().filter(|c| **c).count();
        let detail = Some(format!(
            "{created} created, {} skipped",
            done.len() - created
        ));
        self.ctx
            .audit(AuditEvent::UsersImported, None, None, info, detail)
            .await;
        Ok(done)
    }

    /// Admin: finds a user by email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self
            .ctx
            .store
            .user_by_email(&normalize_email(email)?)
            .await?)
    }

    /// Admin: replaces a user's roles.
    pub async fn set_roles(
        &self,
        user_id: &str,
        roles: &[String],
        ctx: &ClientInfo,
    ) -> Result<User> {
        check_roles(roles)?;
        if !storable(user_id) {
            return Err(Error::NotFound("user"));
        }
        let forget = self.ctx.forget_on_drop(Forget::User(user_id.to_owned()));
        if !self.ctx.store.set_roles(user_id, roles).await? {
            forget.nothing_changed();
            return Err(Error::NotFound("user"));
        }
        drop(forget);
        self.ctx
            .audit(
                AuditEvent::RolesChanged,
                Some(user_id),
                None,
                ctx,
                Some(roles.join(",")),
            )
            .await;
        self.ctx
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }
}
