//! What of a request may be logged.

use std::borrow::Cow;

/// The part of a path safe to log: the Companion token replaced.
pub fn redact_path(path: &str) -> Cow<'_, str> {
    let Some(rest) = path.strip_prefix("/companion/") else {
        return path.into();
    };
    match rest.split_once('/') {
        Some((_, tail)) => format!("/companion/<token>/{tail}").into(),
        None => "/companion/<token>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_redacted() {
        assert_eq!(
            redact_path("/companion/eyJ.abc.def/s3/params"),
            "/companion/<token>/s3/params"
        );
        assert_eq!(redact_path("/companion/eyJ.abc.def"), "/companion/<token>");
        assert_eq!(redact_path("/v1/uploads"), "/v1/uploads");
    }
}
