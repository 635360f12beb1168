//! Shared Key authorization for the server's own calls (HEAD, GET, copy,
//! commit, list, delete, service properties): each request signed with the
//! account key, so no secret ever sits in a URL that could be logged.

use std::collections::BTreeMap;
use std::time::SystemTime;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::VERSION;
use super::sas::AccountKey;

/// The standard headers the string to sign names, in its order.
const STANDARD_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// Adds `x-ms-date`, `x-ms-version` and `Authorization` to `headers` for a
/// request of `method` to `path` (URL-encoded, from the first `/`) with
/// `query` (decoded pairs).
pub(super) fn authorize(
    key: &AccountKey,
    account: &str,
    method: &Method,
    path: &str,
    query: &[(&str, &str)],
    headers: &mut HeaderMap,
) {
    headers.insert(
        "x-ms-date",
        HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now()))
            .expect("an HTTP date is a header value"),
    );
    headers.insert("x-ms-version", HeaderValue::from_static(VERSION));
    let text = string_to_sign(account, method, path, query, headers);
    let authorization = format!("SharedKey {account}:{}", key.sign(&text));
    headers.insert(
        reqwest::header::AUTHORIZATION,
        HeaderValue::from_str(&authorization).expect("base64 is a header value"),
    );
}

fn string_to_sign(
    account: &str,
    method: &Method,
    path: &str,
    query: &[(&str, &str)],
    headers: &HeaderMap,
) -> String {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let mut text = format!("{method}\n");
    for name in STANDARD_HEADERS {
        // Since version 2015-02-21 a zero length is signed as empty.
        let field = match value(name) {
            "0" if name == "content-length" => "",
            other => other,
        };
        text.push_str(field);
        text.push('\n');
    }
    let ms: BTreeMap<&str, &str> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or_default()))
        .filter(|(name, _)| name.starts_with("x-ms-"))
        .collect();
    for (name, value) in ms {
        text.push_str(name);
        text.push(':');
        text.push_str(value.trim());
        text.push('\n');
    }
    text.push('/');
    text.push_str(account);
    text.push_str(path);
    let mut params: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, value) in query {
        params.entry(name.to_lowercase()).or_default().push(value);
    }
    for (name, mut values) in params {
        values.sort_unstable();
        text.push('\n');
        text.push_str(&name);
        text.push(':');
        text.push_str(&values.join(","));
    }
    text
}

/// A header name for `headers.insert` from a static lowercase string.
pub(super) fn name(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_to_sign_follows_the_documented_layout() {
        let mut headers = HeaderMap::new();
        headers.insert("content-length", HeaderValue::from_static("0"));
        headers.insert("content-type", HeaderValue::from_static("image/png"));
        headers.insert("if-match", HeaderValue::from_static("\"0x1\""));
        headers.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
        headers.insert(
            "x-ms-date",
            HeaderValue::from_static("Mon, 07 Dec 2026 15:00:00 GMT"),
        );
        headers.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        let text = string_to_sign(
            "acct",
            &Method::PUT,
            "/uploads/a%20b",
            &[("comp", "block"), ("blockid", "QQ==")],
            &headers,
        );
        assert_eq!(
            text,
            "PUT\n\n\n\n\nimage/png\n\n\n\"0x1\"\n\n\n\n\
             x-ms-blob-type:BlockBlob\nx-ms-date:Mon, 07 Dec 2026 15:00:00 GMT\nx-ms-version:2021-08-06\n\
             /acct/uploads/a%20b\nblockid:QQ==\ncomp:block"
        );
    }
}
