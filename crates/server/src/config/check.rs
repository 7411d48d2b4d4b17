//! What `tessera config check` shows, and the unknown-key checks every load
//! makes: each key's effective value (secrets redacted) and where it came
//! from, the warnings about risky settings, and "did you mean" for a key or
//! `TESSERA_*` variable that does not exist.

use super::{Config, ConfigError, Registration, KEYS};
use figment::providers::{Format, Toml};
use figment::Figment;
use std::path::Path;

/// `TESSERA_*` variables that are not configuration (test harnesses, CI,
/// the guard's example): never reported as unknown keys.
pub const NON_CONFIG_PREFIXES: &[&str] = &["TESSERA_TEST_", "TESSERA_GUARD_", "TESSERA_CI_"];
/// Single `TESSERA_*` names the browser-test harness uses (web/test): not
/// configuration either.
pub const NON_CONFIG_NAMES: &[&str] = &[
    "TESSERA_URL",
    "TESSERA_BIN",
    "TESSERA_TTL",
    "TESSERA_BASE",
    "TESSERA_SCREENSHOT_DIR",
    "TESSERA_WYCHEPROOF_DIR",
];

/// Edit distance (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = here;
        }
    }
    row[b.len()]
}

/// The key nearest to `name`, if near enough to be a typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase().replace('-', "_");
    KEYS.iter()
        .map(|k| (distance(&name, k.name), k.name))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn unknown(what: &str, name: &str, key: &str, shown: impl Fn(&str) -> String) -> ConfigError {
    let hint = suggest(key)
        .map(|k| format!(" (did you mean `{}`?)", shown(k)))
        .unwrap_or_default();
    ConfigError(format!("unknown {what} `{name}`{hint}"))
}

/// An unknown key in the file, named, with the nearest real one.
pub(crate) fn unknown_file_key(name: &str) -> ConfigError {
    unknown("configuration key", name, name, str::to_owned)
}

/// An error for the first `TESSERA_*` variable that is no key (outside
/// [`NON_CONFIG_PREFIXES`] and [`NON_CONFIG_NAMES`]).
pub(crate) fn unknown_env(env: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, _) in env {
        let Some(rest) = name.strip_prefix("TESSERA_") else {
            continue;
        };
        let skip = NON_CONFIG_PREFIXES.iter().any(|p| name.starts_with(p))
            || NON_CONFIG_NAMES.contains(&name.as_str());
        if !skip && !KEYS.iter().any(|k| k.name.eq_ignore_ascii_case(rest)) {
            return Err(unknown("environment variable", name, rest, |k| {
                format!("TESSERA_{}", k.to_ascii_uppercase())
            }));
        }
    }
    Ok(())
}

/// Where a key's effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Its default.
    Default,
    /// The configuration file.
    File,
    /// Its `TESSERA_*` variable.
    Environment,
    /// Its `--flag`.
    Flag,
}

impl Source {
    /// `default`, `file`, `environment` or `flag`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Environment => "environment",
            Source::Flag => "flag",
        }
    }
}

/// One key as `config check` prints it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Effective {
    /// The TOML key.
    pub key: &'static str,
    /// Its value, secrets redacted (JSON).
    pub value: serde_json::Value,
    /// Where it came from.
    pub source: Source,
}

impl Config {
    /// Every key's value (secrets redacted) and source, for the layering
    /// [`Config::load`] does with the same inputs.
    pub fn effective(
        &self,
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<Effective> {
        let values = serde_json::to_value(self.redacted()).unwrap_or_default();
        let in_file = file.map(|p| Figment::from(Toml::file_exact(p)));
        KEYS.iter()
            .map(|k| {
                let env_name = k.env();
                let source = if overrides.contains_key(k.name) {
                    Source::Flag
                } else if env.iter().any(|(n, _)| *n == env_name) {
                    Source::Environment
                } else if in_file
                    .as_ref()
                    .is_some_and(|f| f.find_value(k.name).is_ok())
                {
                    Source::File
                } else {
                    Source::Default
                };
                Effective {
                    key: k.name,
                    value: values[k.name].clone(),
                    source,
                }
            })
            .collect()
    }

    /// What `config check` warns about: the start-up [`Config::warnings`]
    /// (HS mode, no issuer with PostgreSQL) and the settings that work but
    /// deserve a look before production.
    pub fn check_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.registration == Registration::Open {
            out.push(
                "`registration` is open: anyone who reaches the server can create an account"
                    .to_owned(),
            );
        }
        if let Some(iss) = &self.issuer {
            if iss.starts_with("http://") && !self.listen.ip().is_loopback() {
                out.push(format!(
                    "`issuer` is {iss} (plain http) while `listen` ({}) is not loopback: use https",
                    self.listen
                ));
            }
        }
        if self.smtp_url.is_none() {
            out.push(
                "`smtp_url` is unset: account mail is written as .eml files under data_dir/mail/, not sent"
                    .to_owned(),
            );
        }
        out.extend(self.warnings());
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn typos_get_the_nearest_key() {
        assert_eq!(suggest("acess_token_ttl"), Some("access_token_ttl"));
        assert_eq!(suggest("LISTN"), Some("listen"));
        assert_eq!(suggest("completely_different"), None);
        let env = [("TESSERA_AUDIENSE".to_owned(), "x".to_owned())];
        let e = unknown_env(&env).unwrap_err().0;
        assert!(
            e.contains("TESSERA_AUDIENSE") && e.contains("TESSERA_AUDIENCE"),
            "{e}"
        );
        let fine = [
            ("TESSERA_TEST_POSTGRES_URL".to_owned(), "x".to_owned()),
            ("TESSERA_URL".to_owned(), "x".to_owned()),
            ("TESSERA_AUDIENCE".to_owned(), "x".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        assert!(unknown_env(&fine).is_ok());
    }

    #[test]
    fn every_warning_can_fire_and_a_careful_config_has_none() {
        let mut cfg = Config {
            registration: Registration::Closed,
            smtp_url: Some("smtp://relay:25".into()),
            issuer: Some("https://id.example".into()),
            ..Config::default()
        };
        assert_eq!(cfg.check_warnings(), Vec::<String>::new());
        cfg.registration = Registration::Open;
        cfg.listen = "0.0.0.0:8080".parse().unwrap();
        cfg.issuer = None;
        cfg.database_url = Some("postgres://db/tessera".into());
        cfg.smtp_url = None;
        cfg.signing_alg = "HS256".into();
        let w = cfg.check_warnings().join("\n");
        for key in [
            "registration",
            "smtp_url",
            "signing_alg",
            "`issuer` is not set",
        ] {
            assert!(w.contains(key), "{key}: {w}");
        }
        cfg.issuer = Some("http://id.example".into());
        assert!(cfg.check_warnings().join("\n").contains("plain http"));
    }
}
