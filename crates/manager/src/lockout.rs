//! Account lockout: failures counted per account in storage (shared by every instance), and
//! per unknown identifier in this process, so that a lock looks the same whether or not the
//! account exists.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use portcullis_core::{FailedLogins, TokenHash, to_time_delta};

use crate::config::AuthConfig;

/// How long the account stays locked at `now`, if it is locked.
pub(crate) fn locked_for(
    config: &AuthConfig,
    failed: Option<FailedLogins>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let failed = failed?;
    if failed.count < config.max_failed_logins {
        return None;
    }
    let until = failed.window_started_at + to_time_delta(config.lock_length(failed.count));
    (until - now).to_std().ok().filter(|left| !left.is_zero())
}

/// The window to pass to `record_failed_login` when the current count is `count`: long
/// enough that the counter survives until the lock that the next failure sets has ended.
pub(crate) fn counting_window(config: &AuthConfig, count: u32) -> Duration {
    config.lock_length(count.saturating_add(1))
}

/// Retry-After value rounded up to whole seconds (what the header carries).
pub(crate) fn whole_seconds(duration: Duration) -> Duration {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

/// Most unknown identifiers tracked at once; beyond that expired entries are dropped, then
/// everything (an attacker spraying random identifiers must not grow memory without bound).
const MAX_TRACKED: usize = 10_000;

/// Failure counters for identifiers that match no account, kept in this process.
#[derive(Debug, Default)]
pub(crate) struct LocalFailures {
    entries: Mutex<HashMap<[u8; 32], FailedLogins>>,
}

impl LocalFailures {
    fn key(identifier: &str) -> [u8; 32] {
        *TokenHash::of(identifier.trim().to_lowercase().as_bytes()).as_bytes()
    }

    pub(crate) fn current(&self, identifier: &str) -> Option<FailedLogins> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&Self::key(identifier))
            .copied()
    }

    /// Same semantics as `AccountStore::record_failed_login`.
    pub(crate) fn record(
        &self,
        identifier: &str,
        now: DateTime<Utc>,
        window: Duration,
        config: &AuthConfig,
    ) -> FailedLogins {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_TRACKED {
            let horizon = to_time_delta(config.max_lockout.max(config.lockout_window));
            entries.retain(|_, failed| now < failed.window_started_at + horizon);
            if entries.len() >= MAX_TRACKED {
                entries.clear();
            }
        }
        let entry = entries
            .entry(Self::key(identifier))
            .or_insert(FailedLogins {
                count: 0,
                window_started_at: now,
            });
        if entry.count == 0 || now >= entry.window_started_at + to_time_delta(window) {
            *entry = FailedLogins {
                count: 1,
                window_started_at: now,
            };
        } else {
            entry.count = entry.count.saturating_add(1);
        }
        *entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_at_the_threshold_for_the_window_then_doubles() {
        let config = AuthConfig::default();
        let start = Utc::now();
        let at = |count| {
            Some(FailedLogins {
                count,
                window_started_at: start,
            })
        };
        assert_eq!(locked_for(&config, at(4), start), None);
        assert_eq!(
            locked_for(&config, at(5), start),
            Some(Duration::from_secs(900))
        );
        let later = start + to_time_delta(Duration::from_secs(900));
        assert_eq!(
            locked_for(&config, at(5), later),
            None,
            "the first lock ends"
        );
        assert_eq!(
            locked_for(&config, at(6), later),
            Some(Duration::from_secs(900))
        );
        assert_eq!(locked_for(&config, None, start), None);
    }

    #[test]
    fn local_counter_counts_within_the_window_and_restarts_after() {
        let config = AuthConfig::default();
        let failures = LocalFailures::default();
        let now = Utc::now();
        let window = Duration::from_secs(60);
        assert_eq!(
            failures.record("Nobody@x.io", now, window, &config).count,
            1
        );
        assert_eq!(
            failures.record(" nobody@x.io", now, window, &config).count,
            2
        );
        assert_eq!(failures.current("NOBODY@X.IO").map(|f| f.count), Some(2));
        let later = now + to_time_delta(window);
        assert_eq!(
            failures.record("nobody@x.io", later, window, &config).count,
            1
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(
            whole_seconds(Duration::from_millis(1500)),
            Duration::from_secs(2)
        );
        assert_eq!(
            whole_seconds(Duration::from_millis(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            whole_seconds(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
    }
}
