//! Erasing users: one file per action.

pub mod get;
pub mod request;

use uploadgate_api::{Erasure, ErasureState};

use crate::uploads::ErasureProgress;

/// How the API shows an erasure.
fn view(progress: ErasureProgress) -> Erasure {
    let ErasureProgress { erasure, remaining } = progress;
    Erasure {
        id: erasure.id,
        user: erasure.owner,
        state: if erasure.finished_at.is_some() {
            ErasureState::Done
        } else {
            ErasureState::Running
        },
        requested_at: erasure.requested_at,
        finished_at: erasure.finished_at,
        erased: erasure.erased,
        remaining,
    }
}
