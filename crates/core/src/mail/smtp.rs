//! SMTP delivery with `lettre`: async on tokio, a connection pool, TLS by
//! rustls on aws-lc-rs with the system's roots (`smtps://` implicit TLS,
//! `?tls=required` STARTTLS, plain `smtp://` for a local relay).

use super::{build, mailbox, MailError, Mailer, Message};
use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Sends over SMTP. `Debug` shows nothing of the URL (it may hold a password).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A pooled transport for `url`, sending from `from`. The error never
    /// repeats the URL.
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::Address("smtp_url".into()))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(SmtpMailer {
            transport,
            from: mailbox(from, "mail_from")?,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, msg: &Message) -> Result<(), MailError> {
        let m = build(&self.from, msg)?;
        self.transport
            .send(m)
            .await
            .map(|_| ())
            .map_err(MailError::Smtp)
    }
}
