//! The in-memory [`RateLimiter`]: GCRA (a token bucket without a timer) per client id and per
//! address, and fixed-window counts of failed authentications. Per node; bounded in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tessera_domain::ports::{RateKind, RateLimiter};

/// A rate: `per_second` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once above the sustained rate.
    pub burst: u32,
}

/// The limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Per client id.
    pub client: Rate,
    /// Per source address.
    pub address: Rate,
    /// Failed authentications (per client id, and per address) before backing off.
    pub max_failures: u32,
    /// The window failures are counted in; a key that reaches the maximum is refused until its
    /// window ends.
    pub failure_window: Duration,
}

/// The most keys kept before idle ones are dropped.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy)]
struct Gcra {
    interval: u64,
    tolerance: u64,
}

impl Gcra {
    fn of(rate: Rate) -> Self {
        let interval = (1e9 / rate.per_second.max(1e-6)).min(u64::MAX as f64) as u64;
        Self {
            interval,
            tolerance: interval.saturating_mul(u64::from(rate.burst.max(1)) - 1),
        }
    }
}

/// Limits requests and failed authentications in memory.
pub struct InMemoryRateLimiter {
    start: Instant,
    limits: Limits,
    gcra: [Gcra; 2],
    /// Per kind: key → theoretical arrival time, in nanoseconds since `start`. Looked up by
    /// `&str`, so checking a known key allocates nothing.
    arrivals: [Mutex<HashMap<String, u64>>; 2],
    /// Per kind: key → (failures, window start).
    failures: [Mutex<HashMap<String, (u32, Instant)>>; 2],
}

const fn slot(kind: RateKind) -> usize {
    match kind {
        RateKind::Client => 0,
        RateKind::Address => 1,
    }
}

fn ceil_secs(nanos: u64) -> u32 {
    u32::try_from(nanos.div_ceil(1_000_000_000))
        .unwrap_or(u32::MAX)
        .max(1)
}

impl InMemoryRateLimiter {
    /// A limiter with `limits`.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            start: Instant::now(),
            limits,
            gcra: [Gcra::of(limits.client), Gcra::of(limits.address)],
            arrivals: Default::default(),
            failures: Default::default(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl RateLimiter for InMemoryRateLimiter {
    fn admit(&self, kind: RateKind, key: &str) -> Option<u32> {
        let Gcra {
            interval,
            tolerance,
        } = self.gcra.get(slot(kind)).copied()?;
        let now = self.now();
        let mut arrivals = self
            .arrivals
            .get(slot(kind))?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if arrivals.len() >= MAX_KEYS {
            arrivals.retain(|_, tat| *tat > now);
            if arrivals.len() >= MAX_KEYS {
                // A flood of distinct keys: memory stays bounded, at the price of forgetting.
                arrivals.clear();
            }
        }
        let tat = arrivals.get(key).copied().unwrap_or(now).max(now);
        if tat - now > tolerance {
            return Some(ceil_secs(tat - now - tolerance));
        }
        match arrivals.get_mut(key) {
            Some(slot) => *slot = tat.saturating_add(interval),
            None => {
                arrivals.insert(key.to_owned(), tat.saturating_add(interval));
            }
        }
        None
    }

    fn record_failure(&self, kind: RateKind, key: &str) {
        let now = Instant::now();
        let Some(failures) = self.failures.get(slot(kind)) else {
            return;
        };
        let mut failures = failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            let window = self.limits.failure_window;
            failures.retain(|_, (_, started)| now.duration_since(*started) < window);
            if failures.len() >= MAX_KEYS {
                // Many distinct ids failing at once (from many addresses, or each address would be
                // backed off): memory stays bounded, at the price of forgetting.
                failures.clear();
            }
        }
        if !failures.contains_key(key) {
            failures.insert(key.to_owned(), (0, now));
        }
        let Some(entry) = failures.get_mut(key) else {
            return;
        };
        if now.duration_since(entry.1) >= self.limits.failure_window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    fn backed_off(&self, kind: RateKind, key: &str) -> Option<u32> {
        let failures = self
            .failures
            .get(slot(kind))?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (count, started) = failures.get(key).copied()?;
        let elapsed = started.elapsed();
        (count >= self.limits.max_failures && elapsed < self.limits.failure_window).then(|| {
            ceil_secs(u64::try_from((self.limits.failure_window - elapsed).as_nanos()).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn limiter(per_second: f64, burst: u32) -> InMemoryRateLimiter {
        InMemoryRateLimiter::new(Limits {
            client: Rate { per_second, burst },
            address: Rate {
                per_second: 1000.0,
                burst: 1000,
            },
            max_failures: 3,
            failure_window: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_burst_is_admitted_then_the_sustained_rate() {
        let l = limiter(1.0, 3);
        for _ in 0..3 {
            assert_eq!(l.admit(RateKind::Client, "a"), None);
        }
        assert_eq!(l.admit(RateKind::Client, "a"), Some(1), "over the burst");
        assert_eq!(l.admit(RateKind::Client, "b"), None, "keys are separate");
        assert_eq!(l.admit(RateKind::Address, "a"), None, "kinds are separate");
        let fast = limiter(20.0, 1);
        assert_eq!(fast.admit(RateKind::Client, "a"), None);
        assert!(fast.admit(RateKind::Client, "a").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(fast.admit(RateKind::Client, "a"), None, "refilled");
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_keys() {
        let l = limiter(1.0, 1);
        for i in 0..MAX_KEYS + 10 {
            let _ = l.admit(RateKind::Address, &format!("a{i}"));
            l.record_failure(RateKind::Client, &format!("c{i}"));
        }
        assert!(l.arrivals[1].lock().unwrap().len() <= MAX_KEYS);
        assert!(l.failures[0].lock().unwrap().len() <= MAX_KEYS);
    }

    #[test]
    fn failures_back_off_a_key_for_the_rest_of_its_window() {
        let l = limiter(1.0, 1);
        l.record_failure(RateKind::Client, "c");
        l.record_failure(RateKind::Client, "c");
        assert_eq!(l.backed_off(RateKind::Client, "c"), None);
        l.record_failure(RateKind::Client, "c");
        let wait = l.backed_off(RateKind::Client, "c").unwrap();
        assert!((59..=60).contains(&wait), "{wait}");
        assert_eq!(l.backed_off(RateKind::Address, "c"), None);
        assert_eq!(l.backed_off(RateKind::Client, "d"), None);
    }
}
