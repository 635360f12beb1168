//! Exponential backoff with full jitter, honouring `Retry-After`.

use std::future::Future;
use std::time::Duration;

use crate::error::{Attempt, ClientError};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// About a minute of trying: 0.2 s, 0.4 s, ... up to 15 s between tries.
    fn default() -> Self {
        Self {
            attempts: 8,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1`: a random point below the
    /// exponential ceiling (so many clients do not retry in step), but never
    /// sooner than the server asked.
    pub fn delay(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(rand::random::<f64>());
        asked.map_or(jittered, |asked| asked.max(jittered))
    }

    /// Runs `call` until it succeeds, fails for good, or runs out of tries.
    /// `on_retry` hears about each retry (for progress output).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        mut call: F,
        on_retry: &(dyn Fn(&str, Duration) + Sync),
    ) -> Result<T, ClientError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut attempt = 0;
        loop {
            match call(attempt).await {
                Ok(value) => return Ok(value),
                Err(Attempt::Fail(err)) => return Err(err),
                Err(Attempt::Retry { reason, after }) => {
                    attempt += 1;
                    if attempt >= self.attempts {
                        return Err(ClientError::Unavailable {
                            attempts: attempt,
                            last: reason,
                        });
                    }
                    let delay = self.delay(attempt - 1, after);
                    on_retry(&reason, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_respect_retry_after() {
        let policy = RetryPolicy::default();
        for attempt in 0..20 {
            assert!(policy.delay(attempt, None) <= policy.max_delay);
        }
        assert!(policy.delay(0, None) <= Duration::from_millis(200));
        let asked = Duration::from_secs(3);
        assert!(policy.delay(0, Some(asked)) >= asked);
    }

    #[tokio::test]
    async fn retries_until_success_then_gives_up_with_the_last_reason() {
        let policy = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let ok = policy
            .run(
                |n| async move {
                    if n < 2 {
                        Err(Attempt::Retry {
                            reason: format!("try {n}"),
                            after: None,
                        })
                    } else {
                        Ok(n)
                    }
                },
                &|_, _| {},
            )
            .await;
        assert_eq!(ok.expect("third try"), 2);
        let failed: Result<(), _> = policy
            .run(
                |n| async move {
                    Err(Attempt::Retry {
                        reason: format!("try {n}"),
                        after: None,
                    })
                },
                &|_, _| {},
            )
            .await;
        assert!(
            matches!(failed, Err(ClientError::Unavailable { attempts: 3, ref last }) if last == "try 2"),
            "{failed:?}"
        );
    }
}
