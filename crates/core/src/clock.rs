//! Time, injectable so that expiry can be tested without sleeping.
//!
//! ```
//! use std::time::Duration;
//! use portcullis_core::{Clock, TestClock};
//!
//! let clock = TestClock::new();
//! let start = clock.now();
//! clock.advance(Duration::from_secs(3600));
//! assert_eq!((clock.now() - start).num_seconds(), 3600);
//! ```

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    /// A clock set to the current real time, truncated to whole microseconds (what every
    /// database stores), so times written and read back compare equal.
    #[must_use]
    pub fn new() -> Self {
        let now = Utc::now();
        let micros = now.timestamp_micros();
        Self::at(DateTime::from_timestamp_micros(micros).unwrap_or(now))
    }

    /// A clock set to `instant`.
    #[must_use]
    pub fn at(instant: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(instant)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += to_time_delta(by);
    }

    /// Sets the clock.
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = instant;
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Converts a configured `Duration` to chrono's, saturating at chrono's maximum rather
/// than failing (a "lifetime of 10^12 years" means "forever").
#[must_use]
pub fn to_time_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}
