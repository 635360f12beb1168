use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use uploadgate_api::ErrorCode;

use crate::http::ApiError;

/// A JSON body, of a request or of an answer: the one `Json` routes use.
/// Unlike `axum::Json`, a bad request body is answered in the API's error
/// shape, naming the offending field (`"field": "size"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(not_json());
        }
        parse(&read_body(req, state).await?).map(Json)
    }
}

/// A JSON body that may also be left out entirely (then `T::default()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let declared = req.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = read_body(req, state).await?;
        // No body, or a JSON null, both mean "nothing to say".
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        if !is_json(declared.as_ref()) {
            return Err(not_json());
        }
        parse(&bytes).map(OptionalJson)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(ErrorCode::BodyTooLarge, rejection.body_text())
            }
            _ => ApiError::new(ErrorCode::InvalidBody, rejection.body_text()),
        })
}

fn not_json() -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "send the body as Content-Type: application/json",
    )
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(mime) = content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    mime.type_() == mime::APPLICATION
        && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
}

/// Parses `bytes`, reporting the JSON path of the first problem.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {message}"));
        }
        let field = named_field(&message)
            .map(|name| join_path(&path, name))
            .or_else(|| (path != ".").then_some(path));
        let detail = strip_position(&message);
        match field {
            Some(field) => ApiError::invalid_field(field.clone(), format!("{field}: {detail}")),
            None => ApiError::new(ErrorCode::InvalidBody, detail),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// serde reports a missing field at its parent: pull the name out of the message.
/// (An unknown field's path already ends with its name.)
fn named_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[expect(dead_code, reason = "fields exist to be parsed")]
    struct Body {
        size: u64,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be parsed")]
    struct Inner {
        name: String,
    }

    #[test]
    fn wrong_types_unknown_and_missing_fields_name_the_field() {
        for (json, field) in [
            (r#"{"size": "big"}"#, "size"),
            (r#"{"size": 1, "colour": 2}"#, "colour"),
            (r#"{}"#, "size"),
            (r#"{"size": 1, "inner": {"name": 5}}"#, "inner.name"),
        ] {
            let err = parse::<Body>(json.as_bytes()).expect_err(json);
            assert_eq!(err.field(), Some(field), "{json}");
        }
        assert_eq!(
            parse::<Body>(b"{").expect_err("eof").code(),
            ErrorCode::InvalidJson
        );
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let err = parse::<Body>(br#"{"size": 1} x"#).expect_err("garbage");
        assert_eq!(err.code(), ErrorCode::InvalidJson);
    }
}
