//! SigV4 signing of the requests clients send straight to storage.
//!
//! Query-string presigning goes through `aws-sigv4`. The POST policy has no
//! trusted crate, so its few lines live here and are pinned to AWS's published
//! example in the tests below.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;
use time::macros::format_description;
use url::Url;

const SERVICE: &str = "s3";

/// A signing failure: always a bug or a broken configuration, never the client's fault.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign request: {0}")]
pub struct SignError(String);

/// Signs `method url` so that it is valid for `expires_in` with exactly `headers`
/// (names in lowercase). Returns the URL with the `X-Amz-*` query parameters added.
pub fn presign_url(
    credentials: &Credentials,
    region: &str,
    method: &str,
    url: &Url,
    headers: &BTreeMap<String, String>,
    expires_in: Duration,
    now: SystemTime,
) -> Result<Url, SignError> {
    let host = host_header(url)?;
    let mut signed_headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
    signed_headers.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));

    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    // S3 wants the path encoded once and left as is, unlike other AWS services.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;

    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let request = SignableRequest::new(
        method,
        url.as_str(),
        signed_headers.into_iter(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();

    let mut signed = url.clone();
    {
        let mut query = signed.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
    }
    Ok(signed)
}

/// The `Host` header a client will send to `url`, which the signature covers.
fn host_header(url: &Url) -> Result<String, SignError> {
    let host = url
        .host_str()
        .ok_or_else(|| SignError(format!("URL {url} has no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// What a browser form may upload: one exact key, type and size range.
#[derive(Debug, Clone)]
pub struct PostPolicy<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub min_size: u64,
    pub max_size: u64,
    pub checksum_sha256: Option<&'a str>,
    pub expires_in: Duration,
}

/// Builds and signs a SigV4 POST policy. The returned fields go into the form
/// before the `file` field, exactly as given.
pub fn sign_post_policy(
    credentials: &Credentials,
    region: &str,
    policy: &PostPolicy<'_>,
    now: SystemTime,
) -> Result<BTreeMap<String, String>, SignError> {
    let now = OffsetDateTime::from(now);
    let expiration = now + policy.expires_in;
    let amz_date = format_amz_date(now)?;
    let credential = format!(
        "{}/{}/{region}/{SERVICE}/aws4_request",
        credentials.access_key_id(),
        &amz_date[..8]
    );

    let mut fields = BTreeMap::new();
    fields.insert("key".to_owned(), policy.key.to_owned());
    fields.insert("Content-Type".to_owned(), policy.content_type.to_owned());
    fields.insert("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned());
    fields.insert("x-amz-credential".to_owned(), credential);
    fields.insert("x-amz-date".to_owned(), amz_date.clone());
    if let Some(token) = credentials.session_token() {
        fields.insert("x-amz-security-token".to_owned(), token.to_owned());
    }
    if let Some(checksum) = policy.checksum_sha256 {
        fields.insert("x-amz-checksum-algorithm".to_owned(), "SHA256".to_owned());
        fields.insert("x-amz-checksum-sha256".to_owned(), checksum.to_owned());
    }

    let mut conditions = vec![serde_json::json!({ "bucket": policy.bucket })];
    conditions.extend(
        fields
            .iter()
            .map(|(name, value)| serde_json::json!({ name: value })),
    );
    conditions.push(serde_json::json!([
        "content-length-range",
        policy.min_size,
        policy.max_size
    ]));
    let document = serde_json::json!({
        "expiration": format_iso8601_millis(expiration)?,
        "conditions": conditions,
    });
    let encoded = BASE64.encode(document.to_string());
    let signature = sign_string(credentials.secret_access_key(), region, now, &encoded);

    fields.insert("policy".to_owned(), encoded);
    fields.insert("x-amz-signature".to_owned(), signature);
    Ok(fields)
}

/// HMAC of `string_to_sign` under the day's SigV4 signing key, hex encoded.
fn sign_string(secret: &str, region: &str, now: OffsetDateTime, string_to_sign: &str) -> String {
    let key = v4::generate_signing_key(secret, now.into(), region, SERVICE);
    v4::calculate_signature(key, string_to_sign.as_bytes())
}

fn format_amz_date(at: OffsetDateTime) -> Result<String, SignError> {
    at.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .map_err(|e| SignError(e.to_string()))
}

fn format_iso8601_millis(at: OffsetDateTime) -> Result<String, SignError> {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .map_err(|e| SignError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)"
    /// in the S3 API reference publishes this policy, encoded, and its signature.
    #[test]
    fn post_signature_matches_the_aws_published_example() {
        let policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        let day = time::macros::datetime!(2015-12-29 00:00 UTC);
        assert_eq!(
            sign_string(AWS_EXAMPLE_SECRET, "us-east-1", day, policy),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn post_policy_pins_key_type_size_and_checksum() {
        let credentials = Credentials::new("AKID", AWS_EXAMPLE_SECRET, None, None, "test");
        let fields = sign_post_policy(
            &credentials,
            "us-east-1",
            &PostPolicy {
                bucket: "b",
                key: "staging/1",
                content_type: "image/png",
                min_size: 10,
                max_size: 10,
                checksum_sha256: Some("abc="),
                expires_in: Duration::from_secs(60),
            },
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .expect("signs");
        let policy = BASE64.decode(&fields["policy"]).expect("base64");
        let policy: serde_json::Value = serde_json::from_slice(&policy).expect("json");
        assert_eq!(policy["expiration"], "2023-11-14T22:14:20.000Z");
        let conditions = policy["conditions"].as_array().expect("conditions");
        for expected in [
            serde_json::json!({"bucket": "b"}),
            serde_json::json!({"key": "staging/1"}),
            serde_json::json!({"Content-Type": "image/png"}),
            serde_json::json!({"x-amz-checksum-sha256": "abc="}),
            serde_json::json!(["content-length-range", 10, 10]),
        ] {
            assert!(conditions.contains(&expected), "missing {expected}");
        }
        assert_eq!(fields["x-amz-date"], "20231114T221320Z");
        assert_eq!(
            fields["x-amz-credential"],
            "AKID/20231114/us-east-1/s3/aws4_request"
        );
    }

    #[test]
    fn presigned_url_signs_the_given_headers_and_no_checksum_parameter() {
        let credentials = Credentials::new("AKID", AWS_EXAMPLE_SECRET, None, None, "test");
        let url = Url::parse("http://127.0.0.1:9000/uploads/staging/abc").expect("url");
        let headers = BTreeMap::from([
            ("content-length".to_owned(), "5".to_owned()),
            ("content-type".to_owned(), "image/png".to_owned()),
        ]);
        let signed = presign_url(
            &credentials,
            "us-east-1",
            "PUT",
            &url,
            &headers,
            Duration::from_secs(900),
            SystemTime::now(),
        )
        .expect("signs");
        let query: BTreeMap<_, _> = signed.query_pairs().into_owned().collect();
        assert_eq!(
            query["X-Amz-SignedHeaders"],
            "content-length;content-type;host"
        );
        assert_eq!(query["X-Amz-Expires"], "900");
        assert!(
            query
                .keys()
                .all(|k| !k.to_ascii_lowercase().contains("checksum"))
        );
    }
}
