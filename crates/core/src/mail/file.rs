//! Development delivery: each message is an `.eml` file.

use super::{build, mailbox, MailError, Mailer, Message};
use async_trait::async_trait;
use std::path::{Path, PathBuf};

/// Writes each message as `<kind>-<random>.eml` in a directory (created
/// on first use), formatted exactly as SMTP would send it.
#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    from: lettre::message::Mailbox,
}

impl FileMailer {
    /// Messages go to `dir`, from `from`.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        Ok(FileMailer {
            dir: dir.into(),
            from: mailbox(from, "mail_from")?,
        })
    }

    /// Where the files go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, msg: &Message) -> Result<(), MailError> {
        let bytes = build(&self.from, msg)?.formatted();
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(MailError::Io)?;
        let rand = tessera_jose::crypto::random_bytes(6)
            .map_err(|e| MailError::Io(std::io::Error::other(e.to_string())))?;
        let name = format!(
            "{}-{}.eml",
            msg.kind.as_str(),
            tessera_jose::b64::encode(&rand)
        );
        tokio::fs::write(self.dir.join(name), bytes)
            .await
            .map_err(MailError::Io)
    }
}
