//! Per-user and per-IP rate limits on the calls that make storage work for a
//! client (creating uploads, signing parts). In memory, per node: behind a load
//! balancer the effective limit is the node count times the configured one.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::{Principal, Via};
use crate::config::LimitsConfig;

/// Checks between two evictions of idle keys, so an IP scan cannot grow the maps forever.
const EVICT_EVERY: u32 = 4096;

/// A call refused by a rate limit: who was limited and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limited {
    #[error("too many requests from this address")]
    Address { wait: Duration },
    #[error("too many requests for this user")]
    User { wait: Duration },
    /// More units in one call than a burst holds: it can never pass whole.
    #[error("at most {most} part URLs can be signed in one call")]
    Batch { most: u32 },
}

impl Limited {
    pub fn wait(self) -> Duration {
        match self {
            Self::Address { wait } | Self::User { wait } => wait,
            Self::Batch { .. } => Duration::ZERO,
        }
    }

    /// Whole seconds to announce in `Retry-After`.
    pub fn retry_after_secs(self) -> u64 {
        retry_after_secs(self.wait())
    }
}

#[derive(Debug)]
pub struct RateLimits {
    users: Option<DefaultKeyedRateLimiter<String>>,
    ips: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    checks: AtomicU32,
}

impl RateLimits {
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            users: quota(config.user_rate, config.user_burst).map(DefaultKeyedRateLimiter::keyed),
            ips: quota(config.ip_rate, config.ip_burst).map(DefaultKeyedRateLimiter::keyed),
            clock: DefaultClock::default(),
            checks: AtomicU32::new(0),
        }
    }

    /// Counts one call by `user` from `ip` (unknown for in-process calls), or
    /// says how long to wait. The user is checked first, so a user over their
    /// rate does not spend their address's (a NAT's other users'); a flood
    /// under many stolen tokens is still held to its address's rate. An API
    /// key's calls count against the user it acts for only: its backend acts
    /// for many users from one address by design.
    pub fn admit(&self, user: &Principal, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.admit_n(user, ip, 1)
    }

    /// Counts a call that makes storage sign `n` URLs as `n` calls: signing
    /// is what costs, whether asked for one URL at a time or all at once.
    pub fn admit_n(&self, user: &Principal, ip: Option<IpAddr>, n: usize) -> Result<(), Limited> {
        let ip = match user.via {
            Via::ApiKey(_) => None,
            Via::Token | Via::UploadToken(_) => ip,
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            self.evict_idle();
        }
        // A call asking for nothing still counts once.
        let n =
            NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX).max(1)).unwrap_or(NonZeroU32::MIN);
        if let Some(limiter) = &self.users {
            match limiter.check_key_n(&user.user, n) {
                Ok(Ok(())) => {}
                Ok(Err(not_until)) => {
                    return Err(Limited::User {
                        wait: not_until.wait_time_from(self.clock.now()),
                    });
                }
                Err(too_many) => {
                    return Err(Limited::Batch { most: too_many.0 });
                }
            }
        }
        if let (Some(limiter), Some(ip)) = (&self.ips, ip) {
            match limiter.check_key_n(&ip, n) {
                Ok(Ok(())) => {}
                Ok(Err(not_until)) => {
                    return Err(Limited::Address {
                        wait: not_until.wait_time_from(self.clock.now()),
                    });
                }
                Err(too_many) => {
                    return Err(Limited::Batch { most: too_many.0 });
                }
            }
        }
        Ok(())
    }

    fn evict_idle(&self) {
        if let Some(limiter) = &self.users {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.ips {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// `rate` calls a second with bursts of `burst`; `None` (no limit) for a rate of 0.
fn quota(rate: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(Quota::per_second(rate).allow_burst(burst))
}

/// Whole seconds to announce in `Retry-After`: never 0, which would invite a
/// client to retry at once into the same refusal.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Principal {
        Principal::user(name)
    }

    fn limits(user: (u32, u32), ip: (u32, u32)) -> RateLimits {
        RateLimits::new(&LimitsConfig {
            user_rate: user.0,
            user_burst: user.1,
            ip_rate: ip.0,
            ip_burst: ip.1,
            ..LimitsConfig::default()
        })
    }

    #[test]
    fn a_user_gets_their_burst_then_waits() {
        let limits = limits((1, 3), (0, 0));
        for _ in 0..3 {
            limits
                .admit(&user("alice"), None)
                .expect("within the burst");
        }
        let refused = limits
            .admit(&user("alice"), None)
            .expect_err("over the burst");
        assert!(matches!(refused, Limited::User { .. }), "{refused:?}");
        limits
            .admit(&user("bob"), None)
            .expect("another user is not affected");
    }

    #[test]
    fn a_user_over_their_rate_does_not_spend_their_addresss() {
        let limits = limits((1, 1), (1, 3));
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        limits.admit(&user("greedy"), ip).expect("first");
        for _ in 0..5 {
            assert!(matches!(
                limits.admit(&user("greedy"), ip),
                Err(Limited::User { .. })
            ));
        }
        limits
            .admit(&user("neighbour"), ip)
            .expect("the address has room left");
    }

    #[test]
    fn a_batch_counts_each_url_it_signs() {
        let limits = limits((1, 10), (0, 0));
        limits.admit_n(&user("alice"), None, 8).expect("8 of 10");
        assert!(matches!(
            limits.admit_n(&user("alice"), None, 3),
            Err(Limited::User { .. })
        ));
        assert_eq!(
            limits.admit_n(&user("bob"), None, 10_000),
            Err(Limited::Batch { most: 10 })
        );
    }

    #[test]
    fn an_address_is_limited_across_users() {
        let limits = limits((0, 0), (1, 2));
        let ip = Some(IpAddr::from([127, 0, 0, 9]));
        limits.admit(&user("a"), ip).expect("first");
        limits.admit(&user("b"), ip).expect("second");
        limits
            .admit(&user("c"), ip)
            .expect_err("third user, same address");
        limits
            .admit(&user("c"), Some(IpAddr::from([127, 0, 0, 10])))
            .expect("another address");
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn an_api_key_counts_against_its_users_never_its_address() {
        let limits = limits((100, 100), (1, 1));
        let ip = Some(IpAddr::from([127, 0, 0, 9]));
        let backend = |name: &str| Principal {
            user: name.to_owned(),
            via: Via::ApiKey("backend".into()),
        };
        for name in ["a", "b", "c", "d"] {
            limits
                .admit(&backend(name), ip)
                .expect("one backend, many users");
        }
        limits
            .admit(&user("e"), ip)
            .expect("the address's first own call");
        limits
            .admit(&user("f"), ip)
            .expect_err("a user token is held to its address");
    }
}
