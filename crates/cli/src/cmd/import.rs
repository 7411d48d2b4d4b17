//! `tessera users import` and `tessera users export`: moving users in from
//! another system and out again, in the JSON-lines format of
//! [`tessera_core::import`].

use super::open::open;
use crate::args::ConfigArgs;
use anyhow::{bail, Context};
use serde_json::json;
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use tessera_store::User;

/// What an import did (or, with `--dry-run`, would do).
#[derive(Default)]
struct Summary {
    imported: u64,
    skipped: u64,
    failed: u64,
}

/// The most users written in one transaction.
pub const MAX_BATCH: usize = 10_000;

fn reader(file: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if file == Path::new("-") {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    Ok(Box::new(std::io::BufReader::new(f)))
}

/// Writes one batch (one transaction) or, in a dry run, counts what would be
/// skipped because the email exists.
async fn flush(
    app: &tessera_core::App,
    batch: &mut Vec<User>,
    dry_run: bool,
    sum: &mut Summary,
) -> anyhow::Result<()> {
    if dry_run {
        for u in batch.iter() {
            match app.accounts.user_by_email(&u.email).await? {
                Some(_) => sum.skipped += 1,
                None => sum.imported += 1,
            }
        }
    } else {
        for created in app
            .accounts
            .import_batch_as(batch, &super::operator())
            .await?
        {
            if created {
                sum.imported += 1;
            } else {
                sum.skipped += 1;
            }
        }
    }
    batch.clear();
    Ok(())
}

/// Reads the file line by line: a bad line is reported (its number and what
/// is wrong, never the hash) and skipped; the good ones go in batches of
/// `batch_size`, each in one transaction; existing emails are skipped.
pub async fn import(
    config: &ConfigArgs,
    file: &Path,
    dry_run: bool,
    batch_size: usize,
    json: bool,
) -> anyhow::Result<()> {
    let app = open(config).await?;
    let batch_size = batch_size.clamp(1, MAX_BATCH);
    let mut sum = Summary::default();
    let mut batch = Vec::new();
    let mut seen = HashSet::new();
    for (n, line) in reader(file)?.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        match app.accounts.import_line(&line) {
            // A second line for the same email counts as existing.
            Ok(u) if !seen.insert(u.email.clone()) => sum.skipped += 1,
            Ok(u) => batch.push(u),
            Err(e) => {
                sum.failed += 1;
                eprintln!("line {}: {e}", n + 1);
            }
        }
        if batch.len() >= batch_size {
            flush(&app, &mut batch, dry_run, &mut sum).await?;
        }
    }
    flush(&app, &mut batch, dry_run, &mut sum).await?;
    let verb = if dry_run { "would import" } else { "imported" };
    let v = json!({"dry_run": dry_run, "imported": sum.imported,
        "skipped_existing": sum.skipped, "failed": sum.failed});
    super::print(json, &v, || {
        format!(
            "{verb} {}, skipped {} (email exists), {} bad lines",
            sum.imported, sum.skipped, sum.failed
        )
    });
    if sum.failed > 0 {
        bail!("{} lines were not imported (see above)", sum.failed);
    }
    Ok(())
}

/// Writes every user, one JSON line each, hashes included, to `out` (a file,
/// created only if new, or standard output).
pub async fn export(config: &ConfigArgs, out: Option<&Path>) -> anyhow::Result<()> {
    let app = open(config).await?;
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut after: Option<String> = None;
    let mut count = 0u64;
    loop {
        let page = app.accounts.list_users(after.as_deref(), 500).await?;
        for u in &page {
            writeln!(sink, "{}", tessera_core::import::export_line(u))?;
            count += 1;
        }
        if page.len() < 500 {
            break;
        }
        after = page.last().map(|u| u.email.clone());
    }
    sink.flush()?;
    if out.is_some() {
        eprintln!("exported {count} users");
    }
    Ok(())
}
