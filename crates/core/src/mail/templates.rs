//! The message templates: embedded, overridable file by file from a
//! directory (`mail_templates`). Each kind has `<kind>.txt` (first line
//! `Subject: …`, then a blank line, then the plain-text body) and
//! `<kind>.html`. Placeholders are `{{product}}`, `{{link}}` and
//! `{{minutes}}`; in the HTML part their values are HTML-escaped.

use super::{MailKind, Message};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

macro_rules! embedded {
    ($($kind:ident => $stem:literal),* $(,)?) => {
        fn embedded(kind: MailKind) -> (&'static str, &'static str) {
            match kind {
                $(MailKind::$kind => (
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $stem, ".txt")),
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $stem, ".html")),
                ),)*
            }
        }
    };
}

embedded! {
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
    VerifyEmail => "verify_email",
    ChangeEmail => "change_email",
    EmailChangeNotice => "email_change_notice",
    AccountDeleted => "account_deleted",
    PasskeyAdded => "passkey_added",
    PasskeyRemoved => "passkey_removed",
    MfaChanged => "mfa_changed",
    RecoveryCodeUsed => "recovery_code_used",
}

/// What fills a template's placeholders.
#[derive(Clone, Default)]
pub struct Rendered<'a> {
    /// `{{link}}`: the link with its token (may be empty).
    pub link: &'a str,
    /// `{{minutes}}`: how long the link is valid.
    pub minutes: u64,
}

/// The templates in use, with the product name.
#[derive(Clone, Debug)]
pub struct Templates {
    product: String,
    /// `(text, html)` by kind.
    by_kind: HashMap<MailKind, (String, String)>,
}

impl Templates {
    /// The product name (`{{product}}`).
    pub fn product(&self) -> &str {
        &self.product
    }

    /// The embedded templates, overridden by the files of `dir` that exist.
    pub fn load(dir: Option<&Path>, product: &str) -> Result<Self> {
        let mut by_kind = HashMap::new();
        for kind in MailKind::ALL {
            let (text, html) = embedded(kind);
            let mut pair = (text.to_owned(), html.to_owned());
            if let Some(dir) = dir {
                if !dir.is_dir() {
                    return Err(Error::Config {
                        key: "mail_templates",
                        message: format!("{} is not a directory", dir.display()),
                    });
                }
                let read = |ext: &str| -> Result<Option<String>> {
                    let path = dir.join(format!("{}.{ext}", kind.as_str()));
                    match std::fs::read_to_string(&path) {
                        Ok(s) => Ok(Some(s)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                        Err(e) => Err(Error::Config {
                            key: "mail_templates",
                            message: format!("cannot read {}: {e}", path.display()),
                        }),
                    }
                };
                if let Some(t) = read("txt")? {
                    pair.0 = t;
                }
                if let Some(h) = read("html")? {
                    pair.1 = h;
                }
            }
            if split_subject(&pair.0).is_none() {
                return Err(Error::Config {
                    key: "mail_templates",
                    message: format!(
                        "{}.txt must start with a `Subject:` line and a blank line",
                        kind.as_str()
                    ),
                });
            }
            by_kind.insert(kind, pair);
        }
        Ok(Templates {
            product: product.to_owned(),
            by_kind,
        })
    }

    /// The message of `kind` to `to`.
    pub fn render(&self, kind: MailKind, to: &str, values: &Rendered<'_>) -> Message {
        let (text, html) = self.by_kind.get(&kind).cloned().unwrap_or_else(|| {
            let (t, h) = embedded(kind);
            (t.to_owned(), h.to_owned())
        });
        let minutes = values.minutes.to_string();
        let vars = [
            ("product", self.product.as_str()),
            ("link", values.link),
            ("minutes", minutes.as_str()),
        ];
        let (subject, body) = split_subject(&text).unwrap_or(("", text.as_str()));
        Message {
            to: to.to_owned(),
            subject: fill(subject, &vars, false)
                .trim()
                .replace(['\r', '\n'], " "),
            text: fill(body, &vars, false),
            html: fill(&html, &vars, true),
            kind,
        }
    }
}

/// `Subject: …\n\nbody` → (subject, body).
fn split_subject(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("Subject:")?;
    let (subject, body) = rest.split_once('\n')?;
    let body = body
        .strip_prefix("\r\n")
        .or_else(|| body.strip_prefix('\n'))?;
    Some((subject.trim(), body))
}

/// Replaces every `{{name}}` of `vars`; unknown placeholders stay.
fn fill(template: &str, vars: &[(&str, &str)], html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) if html => out.push_str(&escape(v)),
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML-escapes text (also for attribute values).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_and_html_is_escaped() {
        let t = Templates::load(None, "Acme <&> Co").unwrap();
        let link = "https://a.example/account/reset?token=abc&x=\"1\"";
        let m = t.render(
            MailKind::PasswordReset,
            "ada@example.com",
            &Rendered { link, minutes: 30 },
        );
        assert!(m.subject.contains("Acme <&> Co"), "{}", m.subject);
        assert!(m.text.contains(link), "{}", m.text);
        assert!(m.text.contains("30 minutes"), "{}", m.text);
        assert!(!m.html.contains(link), "raw link in HTML");
        assert!(
            m.html.contains("token=abc&amp;x=&quot;1&quot;"),
            "{}",
            m.html
        );
        assert!(m.html.contains("Acme &lt;&amp;&gt; Co"), "{}", m.html);
        assert!(!m.text.contains("{{") && !m.html.contains("{{"));
        for kind in MailKind::ALL {
            let m = t.render(kind, "a@b.c", &Rendered { link, minutes: 1 });
            assert!(!m.subject.is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn a_directory_overrides_some_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("password_reset.txt"),
            "Subject: Reset for {{product}}\n\nGo to {{link}} {{unknown}}\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path()), "Acme").unwrap();
        let m = t.render(
            MailKind::PasswordReset,
            "a@b.c",
            &Rendered {
                link: "L",
                minutes: 5,
            },
        );
        assert_eq!(m.subject, "Reset for Acme");
        assert_eq!(m.text, "Go to L {{unknown}}\n");
        assert!(m.html.contains("Acme"), "the embedded HTML part stays");
        std::fs::write(dir.path().join("verify_email.txt"), "no subject").unwrap();
        assert!(Templates::load(Some(dir.path()), "Acme").is_err());
        assert!(Templates::load(Some(&dir.path().join("nope")), "Acme").is_err());
    }
}
