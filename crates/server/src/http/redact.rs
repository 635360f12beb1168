//! What of a request may be logged.

use std::borrow::Cow;

/// What stands in the log for a segment that holds a credential.
const REDACTED: &str = "<token>";

/// The path with every credential in it replaced. A credential is known by
/// its shape, not by the route it came to: the segment after a `companion`
/// segment (in any case or percent-encoding, after any number of slashes),
/// any segment shaped like a JWT, and any API key. A misspelled route is
/// logged as safely as the right one.
pub fn redact_path(path: &str) -> Cow<'_, str> {
    let mut after_companion = false;
    let mut redacted = false;
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let decoded = percent_decoded(segment);
            let secret = (after_companion && !segment.is_empty()) || credential(&decoded);
            if !segment.is_empty() {
                after_companion = decoded.eq_ignore_ascii_case("companion");
            }
            redacted |= secret;
            if secret { REDACTED } else { segment }
        })
        .collect();
    if redacted {
        segments.join("/").into()
    } else {
        path.into()
    }
}

/// A JWT (three dot-separated base64url parts) or an API key.
fn credential(segment: &str) -> bool {
    if segment.starts_with(crate::auth::API_KEY_PREFIX) {
        return true;
    }
    let base64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    let parts: Vec<&str> = segment.split('.').collect();
    parts.len() == 3 && parts.iter().all(|part| base64url(part))
}

/// `segment` with its `%XX` escapes decoded (lossily: this is only for
/// recognising words, never for routing).
fn percent_decoded(segment: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl";

    #[test]
    fn tokens_in_paths_are_redacted_however_the_path_is_spelled() {
        for (path, logged) in [
            (
                format!("/companion/{JWT}/s3/params"),
                "/companion/<token>/s3/params",
            ),
            (format!("/companion/{JWT}"), "/companion/<token>"),
            (
                format!("//companion/{JWT}/s3/params"),
                "//companion/<token>/s3/params",
            ),
            (
                format!("/Companion/{JWT}/s3/params"),
                "/Companion/<token>/s3/params",
            ),
            (format!("/%63ompanion/{JWT}/s3"), "/%63ompanion/<token>/s3"),
            (format!("/companion//{JWT}/s3"), "/companion//<token>/s3"),
            (
                "/companion/not-a-jwt-but-secret/s3".to_owned(),
                "/companion/<token>/s3",
            ),
            (format!("/v1/anything/{JWT}"), "/v1/anything/<token>"),
            ("/v1/keys/ugk_abcdef".to_owned(), "/v1/keys/<token>"),
        ] {
            assert_eq!(redact_path(&path), logged, "{path}");
        }
    }

    #[test]
    fn paths_without_credentials_are_logged_as_they_are() {
        for path in [
            "/v1/uploads",
            "/v1/uploads/01a24f13-674f-76c5-8f94-d72786100fad/parts",
            "/v1/uploads/a.b",
            "/",
            "",
        ] {
            assert!(matches!(redact_path(path), Cow::Borrowed(p) if p == path));
        }
    }
}
