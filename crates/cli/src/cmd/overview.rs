//! `tessera overview`: what `GET /v1/admin/overview` answers (the counts
//! of the last hour and day, live sessions, accounts, the signing key's
//! age, warnings), from the store.

use super::print;
use crate::args::ConfigArgs;
use serde_json::{json, Value};
use std::sync::Arc;
use tessera_core::overview::{Overview, ServerFacts};
use tessera_jose::SystemClock;

/// Prints the overview.
pub async fn run(config: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let cfg = config.load()?;
    let app = tessera_server::open_app(&cfg, Arc::new(SystemClock)).await?;
    let facts = ServerFacts {
        smtp_configured: cfg.smtp_url.is_some(),
    };
    let o = app.audit.overview(facts).await?;
    print(json, &to_json(&o), || text(&o));
    Ok(())
}

fn to_json(o: &Overview) -> Value {
    let counts: serde_json::Map<String, Value> = o
        .series
        .iter()
        .map(|s| (s.name.to_owned(), json!({"hour": s.hour, "day": s.day})))
        .collect();
    let series: serde_json::Map<String, Value> = o
        .series
        .iter()
        .map(|s| (s.name.to_owned(), json!(s.hourly.to_vec())))
        .collect();
    json!({
        "counts": counts,
        "series": series,
        "active_sessions": o.active_sessions,
        "users": o.users,
        "signing_key": o.signing_key.as_ref().map(|k| json!({
            "kid": k.kid, "age_seconds": k.age_seconds, "rotates_at": k.rotates_at,
        })),
        "warnings": o.warnings.iter().map(|w| json!({"code": w.code, "message": w.message}))
            .collect::<Vec<_>>(),
    })
}

fn text(o: &Overview) -> String {
    let mut out = format!("users {}\tactive sessions {}\n", o.users, o.active_sessions);
    for s in &o.series {
        out.push_str(&format!(
            "{:<16}last hour {:>6}\tlast day {:>8}\n",
            s.name, s.hour, s.day
        ));
    }
    if let Some(k) = &o.signing_key {
        let due = k.rotates_at.map_or_else(
            || "no scheduled rotation".to_owned(),
            |t| format!("rotates at {t}"),
        );
        out.push_str(&format!(
            "signing key {} ({} days old, {due})\n",
            k.kid,
            k.age_seconds / 86_400
        ));
    }
    for w in &o.warnings {
        out.push_str(&format!("warning: {} ({})\n", w.message, w.code));
    }
    out.trim_end().to_owned()
}
