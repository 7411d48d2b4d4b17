//! Time as a parameter. Logic asks a [`Clock`]; only this module reads the
//! system time, so every expiry rule can be tested with a [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;

    /// Whole seconds since the Unix epoch (a JWT NumericDate).
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the system time
    fn now_millis(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock that moves only when told to. For tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock set to `secs` seconds after the epoch.
    pub fn new(secs: i64) -> Self {
        ManualClock {
            millis: AtomicI64::new(secs.saturating_mul(1000)),
        }
    }

    /// Sets the time in seconds.
    pub fn set(&self, secs: i64) {
        self.millis
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}
