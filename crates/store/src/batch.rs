//! Group commit for refresh rotations.
//!
//! Every refresh ends in one write: the compare-and-swap on its session and
//! its audit row, committed together. Committed one by one, each pays for
//! its own transaction (SQLite: the write lock, a WAL append of whole pages,
//! a hand-off to the connection's thread; PostgreSQL: a round trip and a
//! WAL flush). Here callers queue their rotation for one writer task,
//! which takes everything queued (up to a batch limit), applies it in **one
//! transaction**, and answers each caller after the commit: a refresh is
//! still committed before it is answered, only the commit is shared.
//!
//! There is no waiting for a batch to fill: the writer takes what is
//! queued when it is free, so an idle server commits each rotation alone
//! at once, and a busy one batches what queued during the previous commit.
//!
//! Rules the writer keeps:
//! - a batch never holds two rotations of one session (the second waits
//!   for the next batch), so each compare-and-swap sees the one before it
//!   committed, exactly as without batching;
//! - if a batch fails, nothing of it was committed, and each of its
//!   rotations is retried alone, so one bad rotation fails only its caller;
//! - a caller that goes away (a client disconnecting) does not stop the
//!   writer between `BEGIN` and `COMMIT`.

use crate::{AuditEvent, Result, Rotation, StoreError};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// Most rotations in one transaction.
pub(crate) const MAX_BATCH: usize = 32;

/// Most rotations queued for the writer before callers wait to queue.
const QUEUE: usize = 1024;

/// One queued rotation, owned (it crosses to the writer task).
pub(crate) struct RotationJob {
    pub(crate) session_id: String,
    pub(crate) expected_generation: i64,
    pub(crate) expected_hash: Vec<u8>,
    pub(crate) new_hash: Vec<u8>,
    pub(crate) now: i64,
    pub(crate) idle_expires_at: i64,
    pub(crate) rotated_by: Option<Vec<u8>>,
    pub(crate) audit: AuditEvent,
}

impl RotationJob {
    pub(crate) fn new(r: &Rotation<'_>, audit: &AuditEvent) -> Self {
        RotationJob {
            session_id: r.session_id.to_owned(),
            expected_generation: r.expected_generation,
            expected_hash: r.expected_hash.to_vec(),
            new_hash: r.new_hash.to_vec(),
            now: r.now,
            idle_expires_at: r.idle_expires_at,
            rotated_by: r.rotated_by.map(<[u8]>::to_vec),
            audit: audit.clone(),
        }
    }

    /// The rotation as the single-rotation path takes it.
    pub(crate) fn rotation(&self) -> Rotation<'_> {
        Rotation {
            session_id: &self.session_id,
            expected_generation: self.expected_generation,
            expected_hash: &self.expected_hash,
            new_hash: &self.new_hash,
            now: self.now,
            idle_expires_at: self.idle_expires_at,
            rotated_by: self.rotated_by.as_deref(),
            audit: Some(&self.audit),
        }
    }
}

/// How a backend applies rotations.
pub(crate) trait ApplyRotations: Send + Sync + 'static {
    /// Applies rotations of distinct sessions in one transaction: for each,
    /// whether its compare-and-swap won (its audit row is written only
    /// then). An error means nothing was committed.
    fn apply_batch(&self, jobs: &[RotationJob]) -> impl Future<Output = Result<Vec<bool>>> + Send;

    /// Applies one rotation in its own transaction.
    fn apply_one(&self, job: &RotationJob) -> impl Future<Output = Result<bool>> + Send;
}

type Queued = (RotationJob, oneshot::Sender<Result<bool>>);

/// The handle callers queue rotations on. Cloned with its store; the
/// writer task ends when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Queued>,
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCommit")
            .field("queued", &(QUEUE - self.queue.capacity()))
            .finish()
    }
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime.
    pub(crate) fn start<B: ApplyRotations>(backend: B) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(backend, rx));
        GroupCommit { queue }
    }

    /// Queues a rotation and waits for its commit: true if its
    /// compare-and-swap won.
    pub(crate) async fn rotate(&self, job: RotationJob) -> Result<bool> {
        let (tx, rx) = oneshot::channel();
        let gone = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        self.queue.send((job, tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

async fn writer<B: ApplyRotations>(backend: B, mut rx: mpsc::Receiver<Queued>) {
    // Rotations that met another of their session in a batch, in order.
    let mut later: VecDeque<Queued> = VecDeque::new();
    loop {
        let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
        let mut waiting = VecDeque::with_capacity(later.len());
        for queued in later.drain(..) {
            place(queued, &mut batch, &mut waiting);
        }
        later = waiting;
        if batch.is_empty() {
            match rx.recv().await {
                Some(queued) => batch.push(queued),
                None => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(queued) => place(queued, &mut batch, &mut later),
                Err(_) => break,
            }
        }
        commit(&backend, batch).await;
    }
}

/// Adds a rotation to the batch, or to `later` if the batch is full or
/// already holds one of its session (or `later` does: order per session).
fn place(queued: Queued, batch: &mut Vec<Queued>, later: &mut VecDeque<Queued>) {
    let sid = queued.0.session_id.as_str();
    let busy = batch.len() >= MAX_BATCH
        || batch.iter().any(|(j, _)| j.session_id == sid)
        || later.iter().any(|(j, _)| j.session_id == sid);
    if busy {
        later.push_back(queued);
    } else {
        batch.push(queued);
    }
}

async fn commit<B: ApplyRotations>(backend: &B, batch: Vec<Queued>) {
    let (jobs, replies): (Vec<RotationJob>, Vec<_>) = batch.into_iter().unzip();
    metrics::histogram!("tessera_store_rotation_batch_size").record(jobs.len() as f64);
    let batched = if jobs.len() == 1 {
        None
    } else {
        match backend.apply_batch(&jobs).await {
            Ok(won) if won.len() == jobs.len() => Some(won),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "rotation batch failed; applying one by one");
                None
            }
        }
    };
    match batched {
        Some(won) => {
            for (reply, won) in replies.into_iter().zip(won) {
                // The caller may have gone; its rotation stands.
                let _ = reply.send(Ok(won));
            }
        }
        None => {
            for (job, reply) in jobs.iter().zip(replies) {
                let _ = reply.send(backend.apply_one(job).await);
            }
        }
    }
}

/// The batch contract, run against each backend's writer by its own tests.
#[cfg(test)]
pub(crate) mod contract {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::{Session, Store, User};

    fn session(id: &str, hash: u8) -> Session {
        Session {
            id: id.into(),
            user_id: "u1".into(),
            created_at: 100,
            last_used_at: 100,
            expires_at: 1000,
            idle_expires_at: 500,
            revoked_at: None,
            revoked_reason: None,
            user_agent: None,
            ip: None,
            generation: 3,
            token_hash: vec![hash; 32],
            rotated_at: None,
            client_id: None,
            rotated_by: None,
            dpop_jkt: None,
            scope: None,
            sso_id: None,
            amr: vec![],
            auth_time: None,
        }
    }

    fn job(sid: &str, generation: i64, old: u8, new: u8) -> RotationJob {
        RotationJob {
            session_id: sid.to_owned(),
            expected_generation: generation,
            expected_hash: vec![old; 32],
            new_hash: vec![new; 32],
            now: 200,
            idle_expires_at: 700,
            rotated_by: Some(vec![new; 8]),
            audit: AuditEvent {
                at: 200,
                event: "refresh.rotated".into(),
                user_id: Some("u1".into()),
                session_id: Some(sid.to_owned()),
                ip: Some("192.0.2.9".into()),
                user_agent: Some(format!("agent {sid}")),
                detail: None,
                actor: None,
                client_id: Some(format!("client-{sid}")),
            },
        }
    }

    /// One batch of six rotations of distinct sessions, three of which lose
    /// (stale generation, wrong hash, revoked): the winners are rotated and
    /// audited, the losers untouched and unaudited, and the store writes
    /// normally afterwards.
    pub(crate) async fn batch_applies_winners_only(
        store: &dyn Store,
        writer: &impl ApplyRotations,
    ) {
        store
            .create_user(&User {
                id: "u1".into(),
                email: "u1@example.com".into(),
                password_hash: "x".into(),
                roles: vec![],
                created_at: 100,
                email_verified_at: None,
                disabled_at: None,
                last_login_at: None,
            })
            .await
            .unwrap();
        for (i, sid) in ["s0", "s1", "s2", "s3", "s4", "s5"].iter().enumerate() {
            let hash = u8::try_from(i).unwrap() + 1;
            store.create_session(&session(sid, hash)).await.unwrap();
        }
        assert!(store.revoke_session("s4", 150, "logout").await.unwrap());
        let jobs = [
            job("s0", 3, 1, 101),
            job("s1", 3, 2, 102),
            job("s2", 2, 3, 103), // stale generation
            job("s3", 3, 9, 104), // wrong hash
            job("s4", 3, 5, 105), // revoked
            job("s5", 3, 6, 106),
        ];
        let won = writer.apply_batch(&jobs).await.unwrap();
        assert_eq!(won, [true, true, false, false, false, true]);
        for (i, (j, won)) in jobs.iter().zip(&won).enumerate() {
            let got = store.session(&j.session_id).await.unwrap().unwrap();
            let before = u8::try_from(i).unwrap() + 1;
            if *won {
                assert_eq!(got.generation, 4, "{}", j.session_id);
                assert_eq!(got.token_hash, j.new_hash);
                assert_eq!((got.rotated_at, got.last_used_at), (Some(200), 200));
                assert_eq!(got.idle_expires_at, 700);
                assert_eq!(got.rotated_by, j.rotated_by);
            } else {
                assert_eq!(got.generation, 3, "{}", j.session_id);
                assert_eq!(got.token_hash, vec![before; 32]);
                assert_eq!(got.rotated_at, None);
            }
        }
        let log = store.audit_after(0, 100).await.unwrap();
        let audited: Vec<_> = log
            .iter()
            .map(|r| {
                let e = &r.event;
                (
                    e.session_id.clone(),
                    e.user_agent.clone(),
                    e.client_id.clone(),
                )
            })
            .collect();
        let expect = |sid: &str| {
            (
                Some(sid.to_owned()),
                Some(format!("agent {sid}")),
                Some(format!("client-{sid}")),
            )
        };
        assert_eq!(audited, [expect("s0"), expect("s1"), expect("s5")]);
        // The same rotations again: every one loses now, nothing is added.
        let again = writer.apply_batch(&jobs).await.unwrap();
        assert_eq!(again, [false; 6]);
        assert_eq!(store.audit_after(0, 100).await.unwrap().len(), 3);
        // One alone, through the single path.
        assert!(writer.apply_one(&job("s0", 4, 101, 111)).await.unwrap());
        assert!(!writer.apply_one(&job("s0", 4, 101, 112)).await.unwrap());
        // The connection is not left inside a transaction.
        store.create_session(&session("s9", 9)).await.unwrap();
        assert!(store.session("s9").await.unwrap().is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn job(sid: &str, generation: i64) -> RotationJob {
        RotationJob {
            session_id: sid.to_owned(),
            expected_generation: generation,
            expected_hash: vec![1],
            new_hash: vec![2],
            now: 0,
            idle_expires_at: 1,
            rotated_by: None,
            audit: AuditEvent::default(),
        }
    }

    /// The sessions and generations of one batch.
    type Batch = Vec<(String, i64)>;

    /// Records every batch; a batch holding "fail" fails as a whole.
    #[derive(Clone, Default)]
    struct Recorder {
        batches: Arc<Mutex<Vec<Batch>>>,
        singles: Arc<Mutex<Vec<String>>>,
        gate: Arc<tokio::sync::Mutex<()>>,
    }

    impl ApplyRotations for Recorder {
        async fn apply_batch(&self, jobs: &[RotationJob]) -> Result<Vec<bool>> {
            let _gate = self.gate.lock().await;
            let ids = jobs
                .iter()
                .map(|j| (j.session_id.clone(), j.expected_generation))
                .collect();
            self.batches
                .lock()
                .map_err(|_| StoreError::Conflict)?
                .push(ids);
            if jobs.iter().any(|j| j.session_id == "fail") {
                return Err(StoreError::Config("batch failed"));
            }
            Ok(jobs
                .iter()
                .map(|j| j.expected_generation % 2 == 0)
                .collect())
        }

        async fn apply_one(&self, job: &RotationJob) -> Result<bool> {
            let _gate = self.gate.lock().await;
            self.singles
                .lock()
                .map_err(|_| StoreError::Conflict)?
                .push(job.session_id.clone());
            if job.session_id == "fail" {
                return Err(StoreError::Config("this one failed"));
            }
            Ok(job.expected_generation % 2 == 0)
        }
    }

    #[tokio::test]
    async fn a_lone_rotation_commits_alone_and_answers_its_outcome() {
        let rec = Recorder::default();
        let gc = GroupCommit::start(rec.clone());
        assert!(gc.rotate(job("a", 0)).await.unwrap_or(false));
        assert!(!gc.rotate(job("a", 1)).await.unwrap_or(true));
        assert!(rec.batches.lock().map(|b| b.is_empty()).unwrap_or(false));
        assert_eq!(rec.singles.lock().map(|s| s.len()).unwrap_or(0), 2);
    }

    #[tokio::test]
    async fn queued_rotations_share_a_batch_but_never_two_of_one_session() {
        let rec = Recorder::default();
        let gc = GroupCommit::start(rec.clone());
        // Hold the writer inside a first commit while more queue up.
        let gate = rec.gate.clone().lock_owned().await;
        let first = tokio::spawn({
            let gc = gc.clone();
            async move { gc.rotate(job("x", 0)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut calls = Vec::new();
        for (sid, generation) in [("a", 0), ("b", 1), ("a", 2), ("c", 4), ("a", 6)] {
            let gc = gc.clone();
            calls.push(tokio::spawn(async move {
                gc.rotate(job(sid, generation)).await
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(gate);
        assert!(matches!(first.await, Ok(Ok(true))));
        let mut outcomes = Vec::new();
        for call in calls {
            outcomes.push(matches!(call.await, Ok(Ok(true))));
        }
        assert_eq!(outcomes, [true, false, true, true, true]);
        let batches = rec.batches.lock().map(|b| b.clone()).unwrap_or_default();
        // x alone; then a, b, c (the second and third "a" wait); then a; then a.
        let expect = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(s, g)| ((*s).to_owned(), *g)).collect()
        };
        assert_eq!(
            batches,
            vec![expect(&[("a", 0), ("b", 1), ("c", 4)])],
            "singles: {:?}",
            rec.singles.lock().map(|s| s.clone())
        );
        let singles = rec.singles.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(singles, ["x", "a", "a"]);
    }

    #[tokio::test]
    async fn a_failed_batch_is_retried_one_by_one() {
        let rec = Recorder::default();
        let gc = GroupCommit::start(rec.clone());
        let gate = rec.gate.clone().lock_owned().await;
        let first = tokio::spawn({
            let gc = gc.clone();
            async move { gc.rotate(job("x", 0)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut calls = Vec::new();
        for sid in ["p", "fail", "q"] {
            let gc = gc.clone();
            calls.push(tokio::spawn(async move { gc.rotate(job(sid, 0)).await }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(gate);
        assert!(matches!(first.await, Ok(Ok(true))));
        let mut outcomes = Vec::new();
        for call in calls {
            outcomes.push(match call.await {
                Ok(Ok(won)) => Some(won),
                _ => None,
            });
        }
        assert_eq!(outcomes, [Some(true), None, Some(true)]);
        let singles = rec.singles.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(singles, ["x", "p", "fail", "q"]);
    }

    #[tokio::test]
    async fn the_writer_stops_with_its_last_handle() {
        let rec = Recorder::default();
        let gc = GroupCommit::start(rec.clone());
        assert!(gc.rotate(job("a", 0)).await.unwrap_or(false));
        // The writer task holds the other clone of the backend.
        assert_eq!(Arc::strong_count(&rec.singles), 2);
        drop(gc);
        for _ in 0..100 {
            if Arc::strong_count(&rec.singles) == 1 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the writer task outlived its last handle");
    }
}
