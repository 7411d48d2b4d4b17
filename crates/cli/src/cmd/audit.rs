//! `tessera audit`: read the audit log.

use super::open::open;
use super::print;
use crate::args::ConfigArgs;
use clap::Subcommand;
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Show the newest audit events.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(cmd: AuditCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Tail { lines, config } => tail(&config, lines, json).await,
    }
}

/// The newest `lines` events (1 to 10,000), oldest first.
async fn tail(config: &ConfigArgs, lines: u32, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let mut rows = admin.audit.before(None, lines.clamp(1, 10_000)).await?;
    rows.reverse();
    let v: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "at": r.event.at, "event": r.event.event, "user_id": r.event.user_id,
                   "session_id": r.event.session_id, "ip": r.event.ip, "user_agent": r.event.user_agent,
                   "detail": r.event.detail, "count": r.count, "last_at": r.last_at})
        })
        .collect();
    print(json, &Value::from(v), || {
        rows.iter()
            .map(|r| {
                let times = match r.count {
                    1 => String::new(),
                    n => format!("\tcount={n}"),
                };
                format!(
                    "{}\t{}\t{}\tuser={}\tsession={}\tip={}{times}",
                    r.id,
                    r.event.at,
                    r.event.event,
                    r.event.user_id.as_deref().unwrap_or("-"),
                    r.event.session_id.as_deref().unwrap_or("-"),
                    r.event.ip.as_deref().unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
