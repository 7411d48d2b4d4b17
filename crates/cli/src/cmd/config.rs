//! `tessera config check`: the effective configuration, where each value
//! came from, and what deserves a second look.

use super::print;
use crate::args::ConfigArgs;
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum ConfigCmd {
    /// Print every key's effective value (secrets redacted) and its source
    /// (default, file, environment, flag), then every warning; exits
    /// non-zero if the configuration has an error (an unknown key included).
    Check(ConfigArgs),
}

pub fn run(cmd: ConfigCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::Check(args) => check(&args, json),
    }
}

fn check(args: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let cfg = args.load()?;
    let keys = args.effective(&cfg);
    let warnings = cfg.check_warnings();
    let v = json!({
        "keys": keys.iter().map(|k| json!({"key": k.key, "value": k.value, "source": k.source.as_str()})).collect::<Vec<_>>(),
        "warnings": warnings,
    });
    print(json, &v, || {
        let width = keys.iter().map(|k| k.key.len()).max().unwrap_or(0);
        let mut out: Vec<String> = keys
            .iter()
            .map(|k| {
                let value = match &k.value {
                    serde_json::Value::Null => "(unset)".to_owned(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("{:width$}  {value}  [{}]", k.key, k.source.as_str())
            })
            .collect();
        out.extend(warnings.iter().map(|w| format!("warning: {w}")));
        if warnings.is_empty() {
            out.push("no warnings".to_owned());
        }
        out.join("\n")
    });
    Ok(())
}
