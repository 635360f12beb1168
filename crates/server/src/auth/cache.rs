//! Tokens already verified, remembered by their exact text: a client sends
//! the same token with every request, and checking a signature again costs
//! more than the rest of signing a part URL (an RSA or ECDSA one, far more).
//! A token found here is the same bytes that verified, so only its expiry
//! needs checking again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{AuthError, Principal};

/// Most tokens remembered; when full, the memory starts over.
const MAX_VERIFIED: usize = 10_000;

#[derive(Debug, Default)]
pub struct VerifiedCache(Mutex<HashMap<Box<str>, (Principal, i64)>>);

impl VerifiedCache {
    /// The principal `token` verified as, unless it expired since (`now` and
    /// `leeway` in seconds); `None` when it was never verified here.
    pub fn get(&self, token: &str, now: i64, leeway: u64) -> Option<Result<Principal, AuthError>> {
        let (principal, exp) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()?;
        // The same rule as `jsonwebtoken`'s, leeway included.
        if exp < now.saturating_sub(i64::try_from(leeway).unwrap_or(0)) {
            return Some(Err(AuthError::Expired));
        }
        Some(Ok(principal))
    }

    pub fn put(&self, token: &str, principal: Principal, exp: i64) {
        let mut verified = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(token.into(), (principal, exp));
    }

    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
