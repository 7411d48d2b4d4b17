//! The server secret: the root of the keys that seal signing keys at rest and
//! derive refresh-token successors. It lives outside the database (a file in
//! the data directory, or configuration), so a database dump alone reveals
//! neither private keys nor any way to mint refresh tokens.

use crate::error::{Error, Result};
use std::fmt;
use std::path::Path;
use tessera_jose::crypto;
use zeroize::Zeroizing;

/// Keys derived from the server secret. `Debug` shows nothing.
#[derive(Clone)]
pub struct ServerSecret {
    seal: Zeroizing<[u8; 32]>,
    successor: Zeroizing<[u8; 32]>,
    client: Zeroizing<[u8; 32]>,
    webauthn: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

impl ServerSecret {
    /// Derives the working keys from at least 32 bytes of secret.
    pub fn from_bytes(root: &[u8]) -> Result<Self> {
        if root.len() < 32 {
            return Err(Error::InvalidInput {
                field: "secret",
                message: "the server secret must be at least 32 bytes".into(),
            });
        }
        Ok(ServerSecret {
            seal: Zeroizing::new(crypto::hmac_sha256(root, b"tessera/v1/seal-signing-keys")),
            successor: Zeroizing::new(crypto::hmac_sha256(root, b"tessera/v1/refresh-successor")),
            client: Zeroizing::new(crypto::hmac_sha256(root, b"tessera/v1/client-secret")),
            webauthn: Zeroizing::new(crypto::hmac_sha256(
                root,
                b"tessera/v1/webauthn-user-handle",
            )),
        })
    }

    /// Reads `secret.key` from `dir`, creating it (mode 0600) on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let path = dir.join("secret.key");
        let io = |e: std::io::Error| Error::internal_in(path.display().to_string(), e);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = Zeroizing::new(bytes);
                let decoded =
                    tessera_jose::b64::decode(text.trim_ascii(), "secret.key").map_err(|_| {
                        Error::internal_msg(format!("{} is not base64url", path.display()))
                    })?;
                Self::from_bytes(&Zeroizing::new(decoded))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
                let root = crypto::random_bytes(32).map_err(Error::internal)?;
                let text = Zeroizing::new(tessera_jose::b64::encode(&root));
                write_private(&path, text.as_bytes()).map_err(io)?;
                Self::from_bytes(&root)
            }
            Err(e) => Err(io(e)),
        }
    }

    pub(crate) fn seal_key(&self) -> &[u8; 32] {
        &self.seal
    }

    pub(crate) fn client_key(&self) -> &[u8; 32] {
        &self.client
    }

    pub(crate) fn successor_key(&self) -> &[u8; 32] {
        &self.successor
    }

    /// The key that derives a user's WebAuthn user handle from their id.
    pub(crate) fn webauthn_key(&self) -> &[u8; 32] {
        &self.webauthn
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
