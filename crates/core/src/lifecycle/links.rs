//! Emailed links: single-use tokens (256 bits, stored only as their
//! SHA-256) and the messages that carry them, queued on the [`Outbox`].

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::mail::{MailKind, Outbox, Rendered, Templates};
use std::time::Duration;
use tessera_jose::{b64, crypto};
use tessera_store::OneTimeToken;
use zeroize::Zeroizing;

/// What a token may be used for (as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Setting a new password.
    PasswordReset,
    /// Proving the user reads mail at their address.
    VerifyEmail,
    /// Moving the account to a new address (sent to that address).
    ChangeEmail,
}

impl Purpose {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::VerifyEmail => "verify_email",
            Purpose::ChangeEmail => "change_email",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Self> {
        [
            Purpose::PasswordReset,
            Purpose::VerifyEmail,
            Purpose::ChangeEmail,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// How long verification and email-change links work.
pub const EMAIL_LINK_TTL: Duration = Duration::from_secs(24 * 3600);

/// Length of a token's text: 32 random bytes in base64url.
const TOKEN_CHARS: usize = 43;

/// The SHA-256 of a token's text, or `None` for text that cannot be a
/// token (it is then refused without asking the store).
pub(crate) fn token_hash(text: &str) -> Option<[u8; 32]> {
    let ok = text.len() == TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| crypto::sha256(text.as_bytes()))
}

/// Issues tokens and sends the mail that carries them.
pub(crate) struct Links {
    outbox: Outbox,
    templates: Templates,
    reset_url: String,
    verify_url: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").finish_non_exhaustive()
    }
}

fn with_token(base: &str, token: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}token={token}")
}

impl Links {
    pub(crate) fn new(ctx: &Ctx, outbox: Outbox, templates: Templates) -> Self {
        let issuer = ctx.cfg.issuer.trim_end_matches('/');
        let or_own = |url: &Option<String>, path: &str| {
            url.clone()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| format!("{issuer}{path}"))
        };
        Links {
            outbox,
            templates,
            reset_url: or_own(&ctx.cfg.password_reset_url, "/account/reset"),
            verify_url: or_own(&ctx.cfg.email_verify_url, "/account/verify"),
        }
    }

    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// A new token of `purpose` for `user_id`, stored by its hash; `email`
    /// is the address it is about.
    pub(crate) async fn issue(
        &self,
        ctx: &Ctx,
        purpose: Purpose,
        user_id: &str,
        email: &str,
        ttl: Duration,
    ) -> Result<Zeroizing<String>> {
        let bytes = Zeroizing::new(crypto::random_bytes(32).map_err(Error::internal)?);
        let text = Zeroizing::new(b64::encode(&bytes));
        let now = ctx.now();
        let row = OneTimeToken {
            token_hash: crypto::sha256(text.as_bytes()).to_vec(),
            purpose: purpose.as_str().to_owned(),
            user_id: user_id.to_owned(),
            email: Some(email.to_owned()),
            created_at: now,
            expires_at: now.saturating_add(crate::config::secs(ttl)),
        };
        ctx.store.insert_one_time_token(&row).await?;
        Ok(text)
    }

    /// The link a token of `purpose` goes in.
    fn link(&self, purpose: Purpose, token: &str) -> String {
        match purpose {
            Purpose::PasswordReset => with_token(&self.reset_url, token),
            Purpose::VerifyEmail | Purpose::ChangeEmail => with_token(&self.verify_url, token),
        }
    }

    /// Issues a token about `email` and queues the message carrying its
    /// link to that address.
    pub(crate) async fn send_link(
        &self,
        ctx: &Ctx,
        kind: MailKind,
        purpose: Purpose,
        user_id: &str,
        email: &str,
        ttl: Duration,
    ) -> Result<()> {
        let token = self.issue(ctx, purpose, user_id, email, ttl).await?;
        let link = Zeroizing::new(self.link(purpose, &token));
        let minutes = ttl.as_secs().div_ceil(60);
        self.outbox.enqueue(self.templates.render(
            kind,
            email,
            &Rendered {
                link: &link,
                minutes,
            },
        ));
        Ok(())
    }

    /// The product name mail and authenticator apps show.
    pub(crate) fn product(&self) -> &str {
        self.templates.product()
    }

    /// Queues a notice (a message without a link).
    pub(crate) fn notify(&self, kind: MailKind, to: &str) {
        self.outbox
            .enqueue(self.templates.render(kind, to, &Rendered::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_shaped_text_is_hashed() {
        let good = "A".repeat(43);
        assert_eq!(token_hash(&good), Some(crypto::sha256(good.as_bytes())));
        assert!(token_hash(&"A".repeat(42)).is_none());
        assert!(token_hash(&format!("{}=", "A".repeat(42))).is_none());
        assert!(token_hash(&format!("{}\0", "A".repeat(42))).is_none());
        assert_eq!(with_token("https://a/x", "t"), "https://a/x?token=t");
        assert_eq!(
            with_token("https://a/x?l=en", "t"),
            "https://a/x?l=en&token=t"
        );
        for p in [
            Purpose::PasswordReset,
            Purpose::VerifyEmail,
            Purpose::ChangeEmail,
        ] {
            assert_eq!(Purpose::from_name(p.as_str()), Some(p));
        }
    }
}
