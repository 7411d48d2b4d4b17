//! Sending off the request path: a bounded queue and one task that sends,
//! retrying transient failures with backoff. Every outcome is counted as
//! `tessera_mail_total{kind,outcome}` (`sent`, `retried`, `failed`,
//! `dropped`) and failures are logged by kind only.

use super::{MailKind, Mailer, Message};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// How many messages may wait; past it new ones are dropped (and counted).
pub const QUEUE: usize = 1024;
/// Attempts per message.
pub const ATTEMPTS: u32 = 5;

/// The queue in front of a [`Mailer`]. Cloning shares it.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Message>,
    pending: Arc<Pending>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("pending", &self.pending.count.load(Ordering::SeqCst))
            .finish()
    }
}

#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    idle: Notify,
}

impl Pending {
    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}

fn count(kind: MailKind, outcome: &'static str) {
    metrics::counter!("tessera_mail_total", "kind" => kind.as_str(), "outcome" => outcome)
        .increment(1);
}

impl Outbox {
    /// Starts the sending task (on the current tokio runtime) in front of
    /// `mailer`; `backoff` is the first retry delay, doubled each time.
    pub fn start(mailer: Arc<dyn Mailer>, backoff: Duration) -> Outbox {
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
        let pending = Arc::new(Pending::default());
        let p = pending.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                deliver(&*mailer, &msg, backoff).await;
                p.done();
            }
        });
        Outbox { tx, pending }
    }

    /// Queues a message; never waits and never fails the caller (a full
    /// queue drops it, logged and counted).
    pub fn enqueue(&self, msg: Message) {
        let kind = msg.kind;
        self.pending.count.fetch_add(1, Ordering::SeqCst);
        if self.tx.try_send(msg).is_err() {
            self.pending.done();
            count(kind, "dropped");
            tracing::error!(kind = kind.as_str(), "mail queue full: message dropped");
        }
    }

    /// Waits until every queued message has been sent or given up (tests,
    /// graceful shutdown), at most `limit`. True if the queue is empty.
    pub async fn flush(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.pending.idle.notified();
            if self.pending.count.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.pending.count.load(Ordering::SeqCst) == 0;
            }
        }
    }
}

async fn deliver(mailer: &dyn Mailer, msg: &Message, backoff: Duration) {
    let kind = msg.kind.as_str();
    let mut delay = backoff;
    for attempt in 1..=ATTEMPTS {
        match mailer.send(msg).await {
            Ok(()) => {
                count(msg.kind, "sent");
                return;
            }
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                count(msg.kind, "retried");
                tracing::warn!(kind, attempt, error = %e, "mail not sent; retrying");
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            Err(e) => {
                count(msg.kind, "failed");
                tracing::error!(kind, attempt, error = %e, "mail not sent; giving up");
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::mail::MemoryMailer;

    fn msg() -> Message {
        Message {
            to: "a@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            kind: MailKind::PasswordReset,
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_flush_waits() {
        let mailer = MemoryMailer::new();
        mailer.fail_next(2);
        let outbox = Outbox::start(mailer.clone(), Duration::from_millis(1));
        outbox.enqueue(msg());
        assert!(outbox.flush(Duration::from_secs(10)).await);
        assert_eq!(mailer.messages().len(), 1, "delivered on the third try");
    }

    #[tokio::test]
    async fn a_message_that_keeps_failing_is_given_up() {
        let mailer = MemoryMailer::new();
        mailer.fail_next(usize::MAX);
        let outbox = Outbox::start(mailer.clone(), Duration::from_millis(1));
        outbox.enqueue(msg());
        assert!(outbox.flush(Duration::from_secs(10)).await);
        assert!(mailer.messages().is_empty());
        mailer.fail_next(0);
        outbox.enqueue(msg());
        assert!(outbox.flush(Duration::from_secs(10)).await);
        assert_eq!(mailer.messages().len(), 1, "the task survives a failure");
    }
}
