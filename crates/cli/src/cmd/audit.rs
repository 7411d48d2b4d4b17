//! `tessera audit`: read the audit log, filtered as `GET /v1/admin/audit`.

use super::open::open;
use super::print;
use crate::args::ConfigArgs;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use tessera_store::AuditFilter;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Show the newest audit events (matching every filter given), oldest first.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// The filters of `tessera audit tail`.
#[derive(Args, Default)]
pub struct FilterArgs {
    /// Only this event, e.g. `roles.changed`.
    #[arg(long)]
    event: Option<String>,
    /// Only events about this user id.
    #[arg(long, allow_hyphen_values = true)]
    user: Option<String>,
    /// Only events about this OAuth client.
    #[arg(long, allow_hyphen_values = true)]
    client: Option<String>,
    /// Only events done by this actor: an admin's user id, or `cli:<os user>`.
    #[arg(long, allow_hyphen_values = true)]
    actor: Option<String>,
    /// Only events at or after this time (Unix seconds).
    #[arg(long)]
    since: Option<i64>,
    /// Only events before this time (Unix seconds).
    #[arg(long)]
    until: Option<i64>,
    /// Only events with an id below this (paging back).
    #[arg(long)]
    before: Option<i64>,
}

impl FilterArgs {
    fn filter(self) -> AuditFilter {
        AuditFilter {
            before: self.before,
            event: self.event,
            user_id: self.user,
            client_id: self.client,
            actor: self.actor,
            since: self.since,
            until: self.until,
        }
    }
}

pub async fn run(cmd: AuditCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Tail {
            lines,
            filter,
            config,
        } => tail(&config, lines, filter.filter(), json).await,
    }
}

/// The newest `lines` matching events (1 to 1,000), oldest first.
async fn tail(
    config: &ConfigArgs,
    lines: u32,
    filter: AuditFilter,
    json: bool,
) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let mut rows = admin.audit.search(&filter, lines.clamp(1, 1_000)).await?;
    rows.reverse();
    let v: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "at": r.event.at, "event": r.event.event, "user_id": r.event.user_id,
                   "session_id": r.event.session_id, "ip": r.event.ip, "user_agent": r.event.user_agent,
                   "detail": r.event.detail, "actor": r.event.actor, "client_id": r.event.client_id,
                   "count": r.count, "last_at": r.last_at})
        })
        .collect();
    print(json, &Value::from(v), || {
        rows.iter()
            .map(|r| {
                let times = match r.count {
                    1 => String::new(),
                    n => format!("\tcount={n}"),
                };
                let opt = |name: &str, v: &Option<String>| {
                    v.as_ref()
                        .map_or_else(String::new, |v| format!("\t{name}={v}"))
                };
                format!(
                    "{}\t{}\t{}\tuser={}\tsession={}\tip={}{}{}{}{times}",
                    r.id,
                    r.event.at,
                    r.event.event,
                    r.event.user_id.as_deref().unwrap_or("-"),
                    r.event.session_id.as_deref().unwrap_or("-"),
                    r.event.ip.as_deref().unwrap_or("-"),
                    opt("actor", &r.event.actor),
                    opt("client", &r.event.client_id),
                    opt("detail", &r.event.detail),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
