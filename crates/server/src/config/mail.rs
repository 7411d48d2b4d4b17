//! The mail and account-lifecycle settings (issue 15): the core's
//! [`MailConfig`](tessera_core::mail::MailConfig), and their checks.

use super::{bad, Config, ConfigError};
use zeroize::Zeroizing;

impl Config {
    /// The mail settings.
    pub fn mail_config(&self) -> tessera_core::mail::MailConfig {
        tessera_core::mail::MailConfig {
            smtp_url: self.smtp_url.clone().map(Zeroizing::new),
            from: self.mail_from.clone(),
            templates: self.mail_templates.clone(),
            product_name: self.mail_product_name.clone(),
        }
    }

    /// Refuses mail and lifecycle settings that cannot work.
    pub(super) fn check_mail(&self) -> Result<(), ConfigError> {
        if let Some(u) = &self.smtp_url {
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                return Err(bad("smtp_url", "must start with smtp:// or smtps://"));
            }
        }
        if !tessera_core::mail::is_address(&self.mail_from) {
            return Err(bad(
                "mail_from",
                "must be an address, e.g. `Tessera <no-reply@example.com>`",
            ));
        }
        if self.mail_product_name.trim().is_empty() {
            return Err(bad("mail_product_name", "must not be empty"));
        }
        let ttl = self.password_reset_ttl.0.as_secs();
        if !(60..=86_400).contains(&ttl) {
            return Err(bad("password_reset_ttl", "must be between 1m and 24h"));
        }
        for (key, url) in [
            ("password_reset_url", &self.password_reset_url),
            ("email_verify_url", &self.email_verify_url),
        ] {
            if let Some(u) = url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(bad(key, "must be an http(s) URL"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    type Adjust = Box<dyn FnOnce(&mut Config)>;

    fn refused(adjust: impl FnOnce(&mut Config)) -> String {
        let mut c = Config::default();
        adjust(&mut c);
        c.check_mail()
            .map(|()| String::new())
            .unwrap_or_else(|e| e.0)
    }

    #[test]
    fn bad_mail_settings_name_their_key() {
        assert_eq!(refused(|_| {}), "");
        let cases: [(&str, Adjust); 6] = [
            (
                "smtp_url",
                Box::new(|c| c.smtp_url = Some("http://mail".into())),
            ),
            (
                "mail_from",
                Box::new(|c| c.mail_from = "not an address".into()),
            ),
            (
                "mail_product_name",
                Box::new(|c| c.mail_product_name = " ".into()),
            ),
            (
                "password_reset_ttl",
                Box::new(|c| c.password_reset_ttl = super::super::secs(30)),
            ),
            (
                "password_reset_url",
                Box::new(|c| c.password_reset_url = Some("/reset".into())),
            ),
            (
                "email_verify_url",
                Box::new(|c| c.email_verify_url = Some("ftp://x".into())),
            ),
        ];
        for (key, adjust) in cases {
            let e = refused(adjust);
            assert!(e.contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn the_smtp_password_never_shows() {
        let c = Config {
            smtp_url: Some("smtps://user:hunter2-secret@mail.example:465".into()),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("mail.example"), "{shown}");
        let mail = c.mail_config();
        assert!(!format!("{mail:?}").contains("hunter2-secret"));
        assert_eq!(
            mail.smtp_url.as_deref().map(|s| s.as_str()),
            c.smtp_url.as_deref()
        );
    }
}
