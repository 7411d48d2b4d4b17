//! `packaging/grafana-dashboard.json` and `packaging/alerts.yml` query only
//! metrics the code records (names read from the `counter!`/`gauge!`/
//! `histogram!` calls under `crates/*/src`), and cover what operators watch.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every series name the code can export (histograms with their suffixes),
/// plus Prometheus' own `up`.
fn known_metrics() -> BTreeSet<String> {
    let mut files = Vec::new();
    for c in std::fs::read_dir(repo().join("crates")).unwrap() {
        let src = c.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    let mut names = BTreeSet::from(["up".to_owned()]);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (macro_, suffixes) in [
            ("counter!(", &[""][..]),
            ("gauge!(", &[""][..]),
            ("histogram!(", &["_bucket", "_sum", "_count"][..]),
        ] {
            for (i, _) in text.match_indices(macro_) {
                let rest = text[i + macro_.len()..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                let name = &rest[..rest.find('"').unwrap()];
                for s in suffixes {
                    names.insert(format!("{name}{s}"));
                }
            }
        }
    }
    names
}

/// The `tessera_*` and `up` identifiers in a text of PromQL.
fn metrics_named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = text;
    while let Some(i) = rest.find("tessera_") {
        let before_ok = rest[..i].chars().last().is_none_or(|c| !is_ident(c));
        let tail = &rest[i..];
        let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
        if before_ok {
            out.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    if text.contains("up{") {
        out.insert("up".to_owned());
    }
    out
}

fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(e)) = m.get("expr") {
                out.push(e.clone());
            }
            m.values().for_each(|x| exprs(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| exprs(x, out)),
        _ => {}
    }
}

const WATCHED: &[&str] = &[
    "tessera_http_requests_total",
    "tessera_http_request_duration_seconds_bucket",
    "tessera_logins_total",
    "tessera_refreshes_total",
    "tessera_active_sessions",
    "tessera_signing_key_age_seconds",
    "tessera_mail_total",
];

#[test]
fn the_dashboard_queries_only_metrics_that_exist() {
    let known = known_metrics();
    assert!(known.contains("tessera_logins_total"), "{known:?}");
    let text = std::fs::read_to_string(repo().join("packaging/grafana-dashboard.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut all = Vec::new();
    exprs(&dash["panels"], &mut all);
    assert!(!all.is_empty());
    let named: BTreeSet<String> = all.iter().flat_map(|e| metrics_named(e)).collect();
    let unknown: Vec<_> = named.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "dashboard names unknown metrics: {unknown:?}"
    );
    for m in WATCHED {
        assert!(named.contains(*m), "dashboard lacks {m}");
    }
    assert!(
        all.iter().any(|e| e.contains("reuse_detected")),
        "no reuse panel"
    );
}

#[test]
fn the_alerts_name_only_metrics_that_exist() {
    let known = known_metrics();
    let text = std::fs::read_to_string(repo().join("packaging/alerts.yml")).unwrap();
    let named = metrics_named(&text);
    let unknown: Vec<_> = named.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "alerts name unknown metrics: {unknown:?}"
    );
    for alert in [
        "TesseraRefreshReuseSpike",
        "TesseraLoginFailureStorm",
        "TesseraMailFailing",
        "TesseraNotReady",
        "TesseraSigningKeyPastRotation",
    ] {
        assert!(
            text.contains(&format!("alert: {alert}")),
            "alerts lack {alert}"
        );
    }
}

#[test]
fn the_metric_name_scanner_sees_unknown_names() {
    let named = metrics_named("sum(rate(tessera_no_such_metric[5m])) / up{job=\"x\"}");
    assert!(named.contains("tessera_no_such_metric"));
    assert!(!known_metrics().contains("tessera_no_such_metric"));
}
