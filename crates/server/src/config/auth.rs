//! `[auth]`: what a bearer token signed with the shared secret must say.

use serde::Deserialize;

/// Claims required of HS256 tokens besides `sub` and `exp` (and `nbf`, which
/// is always honoured when present).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Required `iss`; tokens `uploadgate token` mints carry it.
    pub issuer: Option<String>,
    /// Accepted `aud` values (one must match); empty: `aud` is not checked.
    /// Minted tokens carry the first.
    pub audiences: Vec<String>,
}
