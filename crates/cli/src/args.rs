//! The configuration flags, built from the key table of
//! `tessera_server::config`: every key is a `--flag` with its one-line help,
//! so a key added there is a flag here. A flag beats `TESSERA_*`, which beats
//! the file.

use clap::{value_parser, Arg, ArgMatches, Args, Command, FromArgMatches};
use serde_json::{Map, Value};
use std::path::PathBuf;
use tessera_server::config::{Config, ConfigError, KeyDoc, ValueKind, KEYS};

/// The configuration file and the keys given as flags (no `Debug`: a flag may
/// hold the secret).
#[derive(Clone, Default)]
pub struct ConfigArgs {
    /// `--config`: a TOML file.
    file: Option<PathBuf>,
    /// Key → value for the flags that were given.
    flags: Map<String, Value>,
}

impl ConfigArgs {
    /// Defaults ← the file ← `TESSERA_*` ← the flags.
    pub fn load(&self) -> Result<Config, ConfigError> {
        Config::from_process(self.file.as_deref(), &self.flags)
    }

    /// Every key's effective value (secrets redacted) and its source, for
    /// `tessera config check`.
    pub fn effective(&self, cfg: &Config) -> Vec<tessera_server::config::Effective> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        cfg.effective(self.file.as_deref(), &env, &self.flags)
    }

    /// True if `key` was given as a `--flag`.
    pub fn given(&self, key: &str) -> bool {
        self.flags.contains_key(key)
    }

    /// Like [`ConfigArgs::load`], with the given environment instead of the process's.
    #[cfg(test)]
    pub fn load_with_env(&self, env: &[(String, String)]) -> Result<Config, ConfigError> {
        Config::load(self.file.as_deref(), env, &self.flags)
    }
}

/// The flag for one key: `--access-token-ttl <DURATION>`, its doc, variable and default.
fn flag(key: &KeyDoc) -> Arg {
    let mut help = format!("{} [env: {}]", key.doc(), key.env());
    if let Some(default) = key.default_text() {
        help.push_str(&format!(" [default: {default}]"));
    }
    // No clap default: an absent flag must leave the file and environment in force.
    let arg = Arg::new(key.name)
        .long(key.flag())
        .value_name(key.value_name)
        .help(help);
    match key.kind {
        ValueKind::Integer => arg.value_parser(value_parser!(u32)),
        _ => arg.value_parser(value_parser!(String)),
    }
}

impl Args for ConfigArgs {
    fn augment_args(cmd: Command) -> Command {
        cmd.arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Path of a TOML configuration file"),
        )
        .args(KEYS.iter().map(flag))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Map::new();
        for key in KEYS {
            let value = match key.kind {
                ValueKind::Integer => m.get_one::<u32>(key.name).map(|n| Value::from(*n)),
                _ => m
                    .get_one::<String>(key.name)
                    .map(|s| Value::from(s.as_str())),
            };
            if let Some(value) = value {
                flags.insert(key.name.to_owned(), value);
            }
        }
        Ok(ConfigArgs {
            file: m.get_one::<PathBuf>("config").cloned(),
            flags,
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        config: ConfigArgs,
    }

    /// A valid value for the key that differs from its default.
    fn sample(key: &KeyDoc, dir: &std::path::Path) -> String {
        match key.name {
            "listen" => "127.0.0.1:9999".into(),
            "data_dir" => "elsewhere".into(),
            "database_url" => "sqlite:elsewhere.db".into(),
            "issuer" => "https://auth.example".into(),
            "audience" => "api".into(),
            "signing_alg" => "EdDSA".into(),
            "registration" => "closed".into(),
            "log_format" => "json".into(),
            "secret" => tessera_jose::b64::encode(&[7u8; 32]),
            "hs_secret" | "hs_previous_secrets" => tessera_jose::b64::encode(&[8u8; 32]),
            "access_token_encryption_jwk" => dir.join("enc.jwk").display().to_string(),
            "access_token_encryption_enc" => "A128GCM".into(),
            "cors_origins" => "https://a.example,https://b.example".into(),
            "redis_url" => "redis://127.0.0.1:6379".into(),
            "cookie_security" => "insecure-dev".into(),
            "trusted_proxies" => "10.0.0.0/8,192.0.2.7".into(),
            "proxy_header" => "forwarded".into(),
            "secret_file" => dir.join("secret.txt").display().to_string(),
            "tls_cert" | "tls_key" => dir.join("other.pem").display().to_string(),
            "smtp_url" => "smtps://user:pass@mail.example:465".into(),
            "mail_from" => "Acme <id@acme.example>".into(),
            "mail_templates" => dir.display().to_string(),
            "mail_product_name" => "Acme ID".into(),
            "password_reset_ttl" => "45m".into(),
            "password_reset_url" | "email_verify_url" => "https://app.example/account".into(),
            "require_verified_email" | "require_mfa" => "true".into(),
            "require_mfa_roles" => "admin,ops".into(),
            "dpop_nonce" => "on".into(),
            "login_logo_url" => "https://cdn.example/logo.svg".into(),
            "login_accent_color" => "#123abc".into(),
            "webauthn_rp_id" => "example.com".into(),
            "webauthn_origins" => "https://id.example.com,https://app.example.com".into(),
            _ => match key.kind {
                ValueKind::Integer => "2048".into(),
                // Within every duration's bounds, and no key's default.
                _ => "45s".into(),
            },
        }
    }

    /// TLS needs both files: each test sets the other one too.
    fn base_env(dir: &std::path::Path) -> Vec<(String, String)> {
        let pem = dir.join("tls.pem").display().to_string();
        vec![
            ("TESSERA_TLS_CERT".into(), pem.clone()),
            ("TESSERA_TLS_KEY".into(), pem),
        ]
    }

    fn field(cfg: &Config, key: &str) -> Value {
        serde_json::to_value(cfg).unwrap()[key].clone()
    }

    #[test]
    fn every_key_can_be_set_by_flag_and_by_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tls.pem"), "").unwrap();
        std::fs::write(dir.path().join("other.pem"), "").unwrap();
        let enc = tessera_jose::jwe::DecryptionKey::from_secret(
            tessera_jose::jwe::KeyAlgorithm::A256Kw,
            &[3u8; 32],
        )
        .unwrap();
        let jwk = enc.to_private_jwk().unwrap().to_json();
        std::fs::write(dir.path().join("enc.jwk"), jwk).unwrap();
        let base = Serve::try_parse_from(["serve"]).unwrap().config;
        let before = base.load_with_env(&base_env(dir.path())).unwrap();
        for key in KEYS {
            let value = sample(key, dir.path());
            let flag = format!("--{}", key.flag());
            let by_flag = Serve::try_parse_from(["serve", &flag, &value])
                .unwrap_or_else(|e| panic!("{flag}: {e}"))
                .config
                .load_with_env(&base_env(dir.path()))
                .unwrap_or_else(|e| panic!("{flag} {value}: {e}"));
            let mut env = base_env(dir.path());
            env.push((key.env(), value.clone()));
            let by_env = base
                .load_with_env(&env)
                .unwrap_or_else(|e| panic!("{} {value}: {e}", key.env()));
            let was = field(&before, key.name);
            assert_ne!(field(&by_flag, key.name), was, "{flag} sets {}", key.name);
            assert_eq!(
                field(&by_env, key.name),
                field(&by_flag, key.name),
                "{} sets {} as the flag does",
                key.env(),
                key.name
            );
        }
    }

    #[test]
    fn a_flag_beats_the_environment_and_an_absent_flag_changes_nothing() {
        let env = vec![
            ("TESSERA_AUDIENCE".to_owned(), "from-env".to_owned()),
            ("TESSERA_ARGON2_WORKERS".to_owned(), "3".to_owned()),
        ];
        let args = Serve::try_parse_from(["serve", "--audience", "from-flag"])
            .unwrap()
            .config;
        let cfg = args.load_with_env(&env).unwrap();
        assert_eq!(cfg.audience, "from-flag");
        assert_eq!(cfg.argon2_workers, 3);
    }

    #[test]
    fn every_key_has_a_flag_with_its_doc() {
        use clap::CommandFactory;
        let help = Serve::command().render_help().to_string();
        for key in KEYS {
            assert!(
                help.contains(&format!("--{} <", key.flag())),
                "{}",
                key.name
            );
            assert!(help.contains(key.doc()), "{}", key.name);
            assert!(help.contains(&key.env()), "{}", key.name);
        }
    }
}
