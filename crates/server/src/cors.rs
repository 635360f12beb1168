use axum::http::HeaderValue;
use tower_http::cors::AllowOrigin;

/// The configured origins as a CORS allow-list; `*` among them allows every
/// origin (safe here: no route takes cookies, every call carries its own
/// bearer token or presigned signature). An origin that is not a valid header
/// value cannot match any browser's `Origin`, so it is skipped with a warning.
pub fn allow_origins(origins: &[String]) -> AllowOrigin {
    if origins.iter().any(|origin| origin == "*") {
        return AllowOrigin::any();
    }
    let values: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| match HeaderValue::from_str(origin) {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::warn!(%origin, "ignoring an invalid CORS origin");
                None
            }
        })
        .collect();
    AllowOrigin::list(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_allows_any_origin_and_never_panics() {
        for origins in [
            vec!["*".to_owned()],
            vec!["https://a.example".into(), "*".into()],
        ] {
            let allow = allow_origins(&origins);
            assert!(format!("{allow:?}").contains(r#"Const("*")"#), "{allow:?}");
        }
        let listed = allow_origins(&["https://a.example".to_owned(), "bad\norigin".to_owned()]);
        assert!(format!("{listed:?}").contains("a.example"), "{listed:?}");
    }
}
