use std::time::Duration;

use serde::Deserialize;

use super::processing::Processor;
use super::units;
use crate::keys::{QUARANTINE_PREFIX, STAGING_PREFIX, USER_PLACEHOLDER};
use crate::storage::Sse;

/// Largest object S3 accepts (5 TiB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;
/// Longest validity SigV4 allows for a presigned request.
pub const MAX_URL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The policy one class of uploads is held to (`[profiles.NAME]`).
///
/// Every key may be left out; it then takes the built-in `default` profile's value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// Accepted media types; `*/*` and `image/*` patterns allowed.
    pub content_types: Vec<String>,
    #[serde(deserialize_with = "units::size")]
    pub max_size: u64,
    /// How long presigned requests stay valid.
    #[serde(deserialize_with = "units::duration")]
    pub url_ttl: Duration,
    /// Files above this size must be sent in parts.
    #[serde(deserialize_with = "units::size")]
    pub multipart_threshold: u64,
    /// Where objects go; must contain `{user}`.
    pub key_prefix: String,
    /// Part size for multipart uploads; raised when 10,000 parts would not suffice.
    #[serde(deserialize_with = "units::optional_size")]
    pub part_size: Option<u64>,
    /// Server-side encryption signed into every upload: `"AES256"` or `"aws:kms"`.
    pub sse: Option<String>,
    /// The KMS key for `sse = "aws:kms"`; the bucket's default key when left out.
    pub sse_kms_key_id: Option<String>,
    /// What runs after verification, in this order; a processor's results
    /// are in the upload's `processing`.
    pub processors: Vec<Processor>,
    /// How long completed uploads are kept: the janitor deletes those created
    /// longer ago (as `DELETE /v1/uploads/{id}` does). Kept for good when left out.
    #[serde(deserialize_with = "units::optional_duration")]
    pub retain_for: Option<Duration>,
    /// One file per user (an avatar): completing an upload deletes the same
    /// user's earlier uploads of this profile.
    pub replace: bool,
}

impl Default for Profile {
    /// The limits most tutorials use: common images and PDF, 10 MiB, 15 minutes.
    fn default() -> Self {
        Self {
            content_types: ["image/jpeg", "image/png", "image/gif", "application/pdf"]
                .map(String::from)
                .to_vec(),
            max_size: 10 * 1024 * 1024,
            url_ttl: Duration::from_secs(15 * 60),
            multipart_threshold: 64 * 1024 * 1024,
            key_prefix: format!("uploads/{USER_PLACEHOLDER}/"),
            part_size: None,
            sse: None,
            sse_kms_key_id: None,
            processors: Vec::new(),
            retain_for: None,
            replace: false,
        }
    }
}

impl Profile {
    /// The encryption uploads of this profile must ask for.
    pub fn encryption(&self) -> Option<Sse> {
        match self.sse.as_deref()? {
            "AES256" => Some(Sse::Aes256),
            _ => Some(Sse::Kms {
                key_id: self.sse_kms_key_id.clone(),
            }),
        }
    }

    /// Checks what serde cannot: ranges, patterns and the key prefix template.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        let at = |msg: String| format!("profiles.{name}: {msg}");
        if self.content_types.is_empty() {
            return Err(at("content_types must list at least one type".into()));
        }
        for pattern in &self.content_types {
            if !is_valid_pattern(pattern) {
                return Err(at(format!(
                    "content_types: {pattern:?} is not a media type or pattern like \"image/*\""
                )));
            }
        }
        if self.max_size == 0 || self.max_size > MAX_OBJECT_SIZE {
            return Err(at("max_size must be between 1 byte and 5TiB".into()));
        }
        if self.url_ttl < Duration::from_secs(1) || self.url_ttl > MAX_URL_TTL {
            return Err(at("url_ttl must be between 1s and 7 days".into()));
        }
        if self
            .retain_for
            .is_some_and(|keep| keep < Duration::from_secs(1))
        {
            return Err(at("retain_for must be at least 1s".into()));
        }
        if self.multipart_threshold == 0 {
            return Err(at("multipart_threshold must be positive".into()));
        }
        // The store's own range is checked when it is known (`store_fit`).
        if self.part_size == Some(0) {
            return Err(at("part_size must be positive".into()));
        }
        match self.sse.as_deref() {
            None | Some("AES256") if self.sse_kms_key_id.is_some() => {
                return Err(at("sse_kms_key_id goes with sse = \"aws:kms\"".into()));
            }
            None | Some("AES256" | "aws:kms") => {}
            Some(other) => {
                return Err(at(format!(
                    "sse {other:?} is not \"AES256\" or \"aws:kms\""
                )));
            }
        }
        let prefix = &self.key_prefix;
        if prefix.matches(USER_PLACEHOLDER).count() != 1 {
            return Err(at("key_prefix must contain {user} exactly once".into()));
        }
        let literal = prefix.replace(USER_PLACEHOLDER, "");
        if prefix.starts_with('/')
            || literal.contains(['{', '}', '\\'])
            || prefix.split('/').any(|seg| seg == "." || seg == "..")
            || literal.chars().any(char::is_control)
        {
            return Err(at(format!(
                "key_prefix {prefix:?} must be a relative path without '.', '..', braces or control characters"
            )));
        }
        if prefix.starts_with(STAGING_PREFIX) {
            return Err(at(format!(
                "key_prefix must not start with {STAGING_PREFIX:?}, where unverified uploads wait"
            )));
        }
        if prefix.starts_with(QUARANTINE_PREFIX) {
            return Err(at(format!(
                "key_prefix must not start with {QUARANTINE_PREFIX:?}, where infected files are kept"
            )));
        }
        Ok(())
    }

    /// Whether `content_type` (already normalized: lowercase, no parameters) is allowed.
    pub fn allows_type(&self, content_type: &str) -> bool {
        let Some((kind, _)) = content_type.split_once('/') else {
            return false;
        };
        self.content_types.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            pattern == "*/*"
                || pattern == content_type
                || pattern
                    .strip_suffix("/*")
                    .is_some_and(|prefix| prefix == kind)
        })
    }
}

fn is_valid_pattern(pattern: &str) -> bool {
    pattern == "*/*"
        || pattern.strip_suffix("/*").is_some_and(is_token)
        || pattern
            .split_once('/')
            .is_some_and(|(kind, sub)| is_token(kind) && is_token(sub))
}

/// An RFC 6838 restricted name: what may stand on either side of the slash.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 127
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_by_kind_or_exactly() {
        let profile = Profile {
            content_types: vec!["image/*".into(), "application/pdf".into()],
            ..Profile::default()
        };
        assert!(profile.allows_type("image/webp"));
        assert!(profile.allows_type("application/pdf"));
        assert!(!profile.allows_type("application/zip"));
        assert!(!profile.allows_type("imagex/png"));
    }

    #[test]
    fn key_prefix_must_hold_the_user_once() {
        let with = |key_prefix: &str| Profile {
            key_prefix: key_prefix.into(),
            ..Profile::default()
        };
        assert!(with("avatars/{user}/").validate("p").is_ok());
        assert!(with("avatars/").validate("p").is_err());
        assert!(with("/abs/{user}/").validate("p").is_err());
        assert!(with("a/../{user}/").validate("p").is_err());
        assert!(with("{user}/{id}/").validate("p").is_err());
        assert!(with("staging/{user}/").validate("p").is_err());
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Profile::default().validate("default"), Ok(()));
    }

    /// What a pattern means, spelled out independently of `allows_type`.
    fn reference(pattern: &str, content_type: &str) -> bool {
        let pattern = pattern.to_ascii_lowercase();
        let (Some((pk, ps)), Some((ck, _))) =
            (pattern.split_once('/'), content_type.split_once('/'))
        else {
            return false;
        };
        (pk == "*" && ps == "*") || (pk == ck && (ps == "*" || pattern == content_type))
    }

    proptest::proptest! {
        /// Policy matching agrees with the reference on types and patterns made
        /// of the same few parts, so near misses (`image/pngx`, `imagex/*`) occur.
        #[test]
        fn type_patterns_match_exactly_what_they_say(
            patterns in proptest::collection::vec("(\\*|image|text|IMAGE|imag)/(\\*|png|png\\+x|PNG|plain)", 1..4),
            content_type in "(image|text|imag|imagex)/(png|plain|pngx|png\\+x)",
        ) {
            let profile = Profile { content_types: patterns.clone(), ..Profile::default() };
            let expected = patterns.iter().any(|p| reference(p, &content_type));
            proptest::prop_assert_eq!(profile.allows_type(&content_type), expected, "{:?} vs {}", patterns, content_type);
        }
    }
}
