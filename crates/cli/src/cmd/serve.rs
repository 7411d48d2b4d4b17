//! `tessera serve`: logging and the metrics recorder, then the server until
//! SIGTERM or Ctrl-C.

use crate::args::ConfigArgs;
use crate::logsink::LogSink;
use std::sync::Arc;
use tessera_jose::SystemClock;
use tessera_server::config::LogFormat;

/// Runs the server until it is told to stop.
pub async fn run(args: &ConfigArgs) -> anyhow::Result<()> {
    let cfg = args.load()?;
    let sink = LogSink::stdout();
    init_logging(cfg.log_format, &sink);
    if args.given("secret") {
        tracing::warn!(
            "--secret on the command line is visible to every local user (ps, /proc); \
             use TESSERA_SECRET or secret_file instead"
        );
    }
    for key in ["hs_secret", "hs_previous_secrets"] {
        if args.given(key) {
            tracing::warn!(
                "--{} on the command line is visible to every local user (ps, /proc); \
                 use TESSERA_{} or the config file instead",
                key.replace('_', "-"),
                key.to_ascii_uppercase()
            );
        }
    }
    for warning in cfg.warnings() {
        tracing::warn!("{warning}");
    }
    // The binary owns the process-wide metrics recorder; the server renders
    // it at /metrics and keeps it drained.
    let opts = tessera_server::Options::default()
        .metrics(tessera_server::Metrics::install()?)
        .signals(true)
        .console_client(true);
    let server = match tessera_server::spawn_with(cfg, Arc::new(SystemClock), opts).await {
        Ok(server) => server,
        Err(e) => {
            sink.flush();
            return Err(e.into());
        }
    };
    let addr = server.addr();
    let data_dir = server.state().config.data_dir.display().to_string();
    tracing::info!(
        "Tessera is listening on http://{addr} (data in {data_dir}). Try: curl http://{addr}/.well-known/openid-configuration"
    );
    sink.flush();
    server.wait().await;
    sink.flush();
    Ok(())
}

fn init_logging(format: LogFormat, sink: &LogSink) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colour codes only for a terminal, never into a log file.
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(sink.clone());
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}
