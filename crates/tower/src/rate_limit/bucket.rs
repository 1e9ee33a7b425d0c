//! The bounded table of token buckets, one per client key.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Burst and refill of every bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quota {
    pub(crate) burst: u32,
    pub(crate) refill_every: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens available at `updated`.
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refilled(&self, quota: Quota, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let rate = 1.0 / quota.refill_every.as_secs_f64().max(f64::MIN_POSITIVE);
        (self.tokens + elapsed * rate).min(f64::from(quota.burst))
    }
}

/// Token buckets keyed by client, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct Buckets {
    table: Mutex<HashMap<IpAddr, Bucket>>,
    capacity: usize,
}

impl Buckets {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            table: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Takes one token for `key`. `Err(wait)` when none is left: try again after `wait`.
    pub(crate) fn take(&self, key: IpAddr, quota: Quota, now: Instant) -> Result<(), Duration> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if !table.contains_key(&key) && table.len() >= self.capacity {
            Self::make_room(&mut table, self.capacity, quota, now);
        }
        let bucket = table.entry(key).or_insert(Bucket {
            tokens: f64::from(quota.burst),
            updated: now,
        });
        let tokens = bucket.refilled(quota, now);
        bucket.updated = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(quota.refill_every.mul_f64(1.0 - tokens))
        }
    }

    /// Drops full buckets (clients idle long enough to have their whole burst back: dropping
    /// them changes nothing); if none, the least recently used one.
    fn make_room(table: &mut HashMap<IpAddr, Bucket>, capacity: usize, quota: Quota, now: Instant) {
        let burst = f64::from(quota.burst);
        table.retain(|_, bucket| bucket.refilled(quota, now) < burst);
        if table.len() >= capacity {
            let oldest = table
                .iter()
                .min_by_key(|(_, bucket)| bucket.updated)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                table.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The bucket key of an address: IPv4 as is, IPv6 by its /64 prefix.
pub(crate) fn key_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: Quota = Quota {
        burst: 3,
        refill_every: Duration::from_secs(6),
    };

    #[test]
    fn burst_then_refill() {
        let buckets = Buckets::new(10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take(ip, QUOTA, t0).is_ok());
        }
        let wait = buckets.take(ip, QUOTA, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(6));
        let wait = buckets
            .take(ip, QUOTA, t0 + Duration::from_secs(3))
            .unwrap_err();
        assert_eq!(wait.as_secs(), 3);
        assert!(buckets.take(ip, QUOTA, t0 + Duration::from_secs(6)).is_ok());
        assert!(
            buckets
                .take(ip, QUOTA, t0 + Duration::from_secs(6))
                .is_err()
        );
    }

    #[test]
    fn the_table_never_grows_past_its_capacity() {
        let buckets = Buckets::new(100);
        let t0 = Instant::now();
        let limited: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..3 {
            buckets.take(limited, QUOTA, t0).unwrap();
        }
        for i in 0..10_000u32 {
            let ip = IpAddr::V4((0x0a00_0000 + i).into());
            buckets
                .take(ip, QUOTA, t0 + Duration::from_millis(u64::from(i)))
                .unwrap();
            assert!(buckets.len() <= 100);
        }
        // After a full refill, idle clients are swept before anyone else.
        let later = t0 + Duration::from_secs(3600);
        buckets
            .take("203.0.113.1".parse().unwrap(), QUOTA, later)
            .unwrap();
        assert!(buckets.len() <= 2);
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(key_of(a), key_of(b));
        assert_ne!(key_of(a), key_of(c));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(key_of(v4), v4);
    }
}
