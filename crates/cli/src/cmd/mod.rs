//! One file per command group, each with its subcommands and one small
//! function per mode; what they share is here.

pub mod audit;
pub mod backup;
pub mod clients;
pub mod config;
pub mod import;
pub mod keys;
pub mod migrate;
pub mod open;
pub mod overview;
pub mod serve;
pub mod sessions;
pub mod token;
pub mod users;

use anyhow::Context;
use serde_json::Value;
use std::io::Read;
use tessera_core::{Actor, ClientInfo};

/// Prints `value` as JSON in `--json` mode, else the human text.
pub fn print(json_mode: bool, value: &Value, human: impl FnOnce() -> String) {
    if json_mode {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{}", human());
    }
}

/// Who the audit log names for an operator's change: the actor
/// `cli:<os user>` (the user who ran the command).
pub fn operator() -> ClientInfo {
    ClientInfo {
        ip: None,
        user_agent: Some("tessera-cli".into()),
        ..ClientInfo::default()
    }
    .acting(Actor::Cli(os_user()))
}

/// The operating-system user running this command (`USER`, else
/// `LOGNAME`, else `USERNAME` on Windows), or `unknown`.
fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Standard input without its final line break (passwords and secrets
/// never go on the command line).
pub fn read_stdin(what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("reading the {what} from stdin"))?;
    let len = text.trim_end_matches(['\r', '\n']).len();
    text.truncate(len);
    Ok(text)
}
