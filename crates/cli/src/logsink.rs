//! Buffered log output for `tessera serve`.
//!
//! With one structured line per request, writing each line to stdout with its
//! own `write(2)` cost a measurable share of a request (the jwks benchmark
//! went from ≈ 24 to ≈ 34 µs of server CPU per request with info logging).
//! Lines are appended to an in-memory buffer instead and written out in
//! batches: when the buffer passes [`FLUSH_BYTES`], at once for every
//! `WARN` or `ERROR` line (with everything before it, so order is kept),
//! every [`FLUSH_EVERY`] by a background thread, and when the process ends.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Buffer size that triggers a write.
pub const FLUSH_BYTES: usize = 32 * 1024;
/// Longest a line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Where log lines go: a shared buffer in front of stdout.
#[derive(Clone, Default)]
pub struct LogSink {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl LogSink {
    /// A sink in front of stdout, with its background flusher running.
    pub fn stdout() -> Self {
        let sink = LogSink::default();
        let weak = Arc::downgrade(&sink.buf);
        // The thread ends when the last sink is dropped.
        let _ = std::thread::Builder::new()
            .name("tessera-log".into())
            .spawn(move || {
                while let Some(buf) = weak.upgrade() {
                    flush_locked(&mut buf.lock().unwrap_or_else(|p| p.into_inner()));
                    drop(buf);
                    std::thread::sleep(FLUSH_EVERY);
                }
            });
        sink
    }

    /// Writes out whatever is buffered.
    pub fn flush(&self) {
        flush_locked(&mut self.buf.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

fn flush_locked(buf: &mut Vec<u8>) {
    if buf.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    // Logging must never fail a request: a closed stdout drops the lines.
    let _ = out.write_all(buf);
    let _ = out.flush();
    buf.clear();
}

/// One event's writer.
pub struct LineWriter<'a> {
    sink: &'a LogSink,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.sink.buf.lock().unwrap_or_else(|p| p.into_inner());
        buf.extend_from_slice(bytes);
        if self.urgent || buf.len() >= FLUSH_BYTES {
            flush_locked(&mut buf);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            sink: self,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            sink: self,
            urgent: urgent(meta.level()),
        }
    }
}

/// `WARN` and `ERROR` lines are written at once.
fn urgent(level: &Level) -> bool {
    *level <= Level::WARN
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(sink: &LogSink, urgent: bool, bytes: &[u8]) {
        LineWriter { sink, urgent }.write_all(bytes).unwrap();
    }

    fn buffered(sink: &LogSink) -> Vec<u8> {
        sink.buf.lock().unwrap().clone()
    }

    #[test]
    fn info_lines_wait_and_warnings_flush_everything_in_order() {
        let sink = LogSink::default();
        line(&sink, false, b"one\n");
        line(&sink, false, b"two\n");
        assert_eq!(buffered(&sink), b"one\ntwo\n");
        line(&sink, false, &vec![b'x'; FLUSH_BYTES]);
        assert!(buffered(&sink).is_empty(), "a full buffer is written out");
        line(&sink, false, b"three\n");
        line(&sink, true, b"warning\n");
        assert!(
            buffered(&sink).is_empty(),
            "a warning writes what waited, then itself"
        );
        line(&sink, false, b"four\n");
        sink.flush();
        assert!(buffered(&sink).is_empty());
    }

    #[test]
    fn warnings_and_errors_are_urgent() {
        let sink = LogSink::default();
        assert!(urgent(&Level::ERROR) && urgent(&Level::WARN));
        assert!(!urgent(&Level::INFO) && !urgent(&Level::DEBUG));
        assert!(sink.make_writer().urgent, "no metadata: written at once");
    }
}
