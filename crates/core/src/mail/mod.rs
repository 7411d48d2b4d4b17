//! Mail: the [`Mailer`] trait and its implementations, the message
//! templates, and the [`Outbox`] that sends off the request path.
//!
//! - [`SmtpMailer`]: `lettre` over SMTP (`smtp_url`), pooled, rustls on
//!   aws-lc-rs.
//! - [`FileMailer`]: without `smtp_url`, each message becomes an `.eml` file
//!   under `data_dir/mail/` (development).
//! - [`MemoryMailer`]: keeps messages in memory (tests, embedding).
//!
//! A request only puts a message in the [`Outbox`] (a bounded queue); one
//! task sends, retrying with backoff. A failure never reaches the request
//! that caused it: it is logged (never the message body, which holds a link
//! with a token) and counted as `tessera_mail_total{kind,outcome}`.

mod file;
mod outbox;
mod smtp;
mod templates;

pub use file::FileMailer;
pub use outbox::Outbox;
pub use smtp::SmtpMailer;
pub use templates::{Rendered, Templates};

use async_trait::async_trait;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// What a message is about (its template, and the `kind` label of
/// `tessera_mail_total`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// The password-reset link.
    PasswordReset,
    /// "Your password was changed."
    PasswordChanged,
    /// The email-verification link (registration, or asked again).
    VerifyEmail,
    /// The link confirming a new address, sent to that address.
    ChangeEmail,
    /// "Your address is being changed", sent to the old address.
    EmailChangeNotice,
    /// "Your account was deleted."
    AccountDeleted,
    /// "A passkey was added to your account."
    PasskeyAdded,
    /// "A passkey was removed from your account."
    PasskeyRemoved,
    /// "A second factor was added or removed, or the recovery codes replaced."
    MfaChanged,
    /// "A recovery code was used to sign in."
    RecoveryCodeUsed,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 10] = [
        MailKind::PasswordReset,
        MailKind::PasswordChanged,
        MailKind::VerifyEmail,
        MailKind::ChangeEmail,
        MailKind::EmailChangeNotice,
        MailKind::AccountDeleted,
        MailKind::PasskeyAdded,
        MailKind::PasskeyRemoved,
        MailKind::MfaChanged,
        MailKind::RecoveryCodeUsed,
    ];

    /// Its name: the metrics label and the template file stem.
    pub const fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::VerifyEmail => "verify_email",
            MailKind::ChangeEmail => "change_email",
            MailKind::EmailChangeNotice => "email_change_notice",
            MailKind::AccountDeleted => "account_deleted",
            MailKind::PasskeyAdded => "passkey_added",
            MailKind::PasskeyRemoved => "passkey_removed",
            MailKind::MfaChanged => "mfa_changed",
            MailKind::RecoveryCodeUsed => "recovery_code_used",
        }
    }
}

/// One message, with a plain-text and an HTML part. `Debug` shows only its
/// kind: the address is personal data and the body holds a link.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// What it is about.
    pub kind: MailKind,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why a message was not delivered. Its text never holds the message.
#[non_exhaustive]
#[derive(Debug)]
pub enum MailError {
    /// An address (sender or recipient) does not parse.
    Address(String),
    /// The message could not be built.
    Build(lettre::error::Error),
    /// The SMTP exchange failed.
    Smtp(lettre::transport::smtp::Error),
    /// Writing the `.eml` file failed.
    Io(std::io::Error),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Address(which) => write!(f, "invalid {which} address"),
            MailError::Build(e) => write!(f, "cannot build the message: {e}"),
            MailError::Smtp(e) => write!(f, "SMTP: {e}"),
            MailError::Io(e) => write!(f, "cannot write the message: {e}"),
        }
    }
}

impl std::error::Error for MailError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MailError::Address(_) => None,
            MailError::Build(e) => Some(e),
            MailError::Smtp(e) => Some(e),
            MailError::Io(e) => Some(e),
        }
    }
}

impl MailError {
    /// True if trying again later may succeed (a permanent SMTP refusal or
    /// a bad address will not).
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Smtp(e) => !e.is_permanent(),
            MailError::Io(_) => true,
            MailError::Address(_) | MailError::Build(_) => false,
        }
    }
}

/// Delivers messages. Implementations must not log a message's body.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Delivers one message (the `From` is the mailer's own).
    async fn send(&self, msg: &Message) -> Result<(), MailError>;
}

/// The mail settings (`smtp_url`, `mail_from`, `mail_templates`,
/// `mail_product_name`). `Debug` hides the SMTP URL (it may hold a password).
#[derive(Clone)]
pub struct MailConfig {
    /// `smtp://host:port`, `smtps://user:pass@host:465`, `…?tls=required`;
    /// `None`: `.eml` files under `data_dir/mail/`.
    pub smtp_url: Option<Zeroizing<String>>,
    /// The `From` address, e.g. `Tessera <no-reply@example.com>`.
    pub from: String,
    /// A directory whose files override the embedded templates.
    pub templates: Option<PathBuf>,
    /// The product name messages carry.
    pub product_name: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "Tessera <no-reply@localhost>".into(),
            templates: None,
            product_name: "Tessera".into(),
        }
    }
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp", &self.smtp_url.is_some())
            .field("from", &self.from)
            .field("templates", &self.templates)
            .field("product_name", &self.product_name)
            .finish()
    }
}

/// True if `text` is a mail address (`a@b.example` or `Name <a@b.example>`).
pub fn is_address(text: &str) -> bool {
    mailbox(text, "").is_ok()
}

/// A `From` address as lettre wants it.
pub(crate) fn mailbox(text: &str, which: &str) -> Result<lettre::message::Mailbox, MailError> {
    text.parse()
        .map_err(|_| MailError::Address(which.to_owned()))
}

/// The message as lettre builds it (multipart/alternative, text then HTML).
pub(crate) fn build(
    from: &lettre::message::Mailbox,
    msg: &Message,
) -> Result<lettre::Message, MailError> {
    lettre::Message::builder()
        .from(from.clone())
        .to(mailbox(&msg.to, "recipient")?)
        .subject(msg.subject.clone())
        .multipart(lettre::message::MultiPart::alternative_plain_html(
            msg.text.clone(),
            msg.html.clone(),
        ))
        .map_err(MailError::Build)
}

/// Keeps every message in memory (tests and embedding); can be told to fail.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Message>>,
    failures: std::sync::atomic::AtomicUsize,
    notify: tokio::sync::Notify,
}

impl fmt::Debug for MemoryMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryMailer").finish_non_exhaustive()
    }
}

impl MemoryMailer {
    /// An empty mailbox, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every message delivered so far, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.sent.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The next `n` sends fail (transiently).
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits (at most `limit`) until at least `n` messages were delivered;
    /// returns them.
    pub async fn wait_for(&self, n: usize, limit: std::time::Duration) -> Vec<Message> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            let now = self.messages();
            if now.len() >= n {
                return now;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.messages();
            }
        }
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, msg: &Message) -> Result<(), MailError> {
        use std::sync::atomic::Ordering;
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(MailError::Io(std::io::Error::other("refused by the test")));
        }
        if let Ok(mut m) = self.sent.lock() {
            m.push(msg.clone());
        }
        self.notify.notify_waiters();
        Ok(())
    }
}

/// Delivers nothing (an [`App`](crate::App) built without mail).
#[derive(Debug, Default)]
pub struct DiscardMailer;

#[async_trait]
impl Mailer for DiscardMailer {
    async fn send(&self, _msg: &Message) -> Result<(), MailError> {
        Ok(())
    }
}
