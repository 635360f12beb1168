//! How long to wait before trying again, for everything that retries in the
//! background (job attempts, webhook deliveries, fetches of an issuer's keys).

use std::time::Duration;

use rand::Rng as _;

/// `base` doubled per attempt so far (the first retry waits `base`), capped at `max`.
pub fn doubling(base: Duration, max: Duration, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    base.saturating_mul(1 << exponent).min(max)
}

/// Up to 25% more, so that things failing together do not retry together.
pub fn with_jitter(delay: Duration) -> Duration {
    delay.mul_f64(1.0 + rand::rng().random_range(0.0..0.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_jitter_adds_at_most_a_quarter() {
        let (base, max) = (Duration::from_secs(2), Duration::from_secs(60));
        let delays: Vec<u64> = (1..=7).map(|n| doubling(base, max, n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(doubling(base, max, u32::MAX).as_secs(), 60);
        let jittered = with_jitter(Duration::from_secs(100));
        assert!((100..=125).contains(&jittered.as_secs()), "{jittered:?}");
    }
}
