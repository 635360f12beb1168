//! SigV4 signing of the requests clients send straight to storage.
//!
//! Signing is on the hot path (10,000 part URLs in one call), so the day's
//! signing key is derived once (by `aws-sigv4`) and cached, and each URL costs
//! one SHA-256 and one HMAC. The tests pin the output to `aws-sigv4`'s own
//! presigner and to AWS's published POST policy example.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::sign::v4;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

const SERVICE: &str = "s3";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A signing failure: always a bug or a broken configuration, never the client's fault.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign request: {0}")]
pub struct SignError(String);

/// The signing key of one day, region and access key.
#[derive(Clone)]
struct DayKey {
    day: String,
    access_key_id: String,
    key: [u8; 32],
}

/// Signs for one region, deriving each day's key once.
pub struct Signer {
    region: String,
    cache: Mutex<Option<DayKey>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            cache: Mutex::new(None),
        }
    }

    /// Prepares signing at `now` with `credentials`; reuse it for a whole batch.
    pub fn at(&self, credentials: &Credentials, now: SystemTime) -> Result<Batch, SignError> {
        let now = OffsetDateTime::from(now);
        let amz_date = now
            .format(format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| SignError(e.to_string()))?;
        let day = amz_date[..8].to_owned();
        let access_key_id = credentials.access_key_id();
        let key = {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| SignError("signing key cache poisoned".into()))?;
            match cache.as_ref() {
                Some(cached) if cached.day == day && cached.access_key_id == access_key_id => {
                    cached.key
                }
                _ => {
                    let derived = v4::generate_signing_key(
                        credentials.secret_access_key(),
                        now.into(),
                        &self.region,
                        SERVICE,
                    );
                    let key: [u8; 32] = derived
                        .as_ref()
                        .try_into()
                        .map_err(|_| SignError("unexpected signing key length".into()))?;
                    *cache = Some(DayKey {
                        day: day.clone(),
                        access_key_id: access_key_id.to_owned(),
                        key,
                    });
                    key
                }
            }
        };
        let scope = format!("{day}/{}/{SERVICE}/aws4_request", self.region);
        let credential = format!("{access_key_id}/{scope}");
        let query_head = format!(
            "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}&X-Amz-Date={amz_date}",
            uri_encode(&credential)
        );
        let sts_head = format!("{ALGORITHM}\n{amz_date}\n{scope}\n");
        Ok(Batch {
            credential,
            scope,
            amz_date,
            now,
            mac: <Hmac<Sha256>>::new_from_slice(&key).expect("HMAC takes any key length"),
            session_token: credentials.session_token().map(uri_encode),
            query_head,
            sts_head,
        })
    }
}

/// Everything fixed for requests signed at one instant with one key.
pub struct Batch {
    credential: String,
    scope: String,
    amz_date: String,
    now: OffsetDateTime,
    /// HMAC already keyed with the day key: cloning it skips re-keying per URL.
    mac: Hmac<Sha256>,
    session_token: Option<String>,
    /// `X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...`, the start of
    /// every canonical query (upper-case names sort first).
    query_head: String,
    /// `AWS4-HMAC-SHA256\n<date>\n<scope>\n`, the start of every string to sign.
    sts_head: String,
}

/// One request to presign. `path` is already encoded (see `encode_key`);
/// `query` values are raw; `headers` are lowercase names, sorted, without `host`.
#[derive(Debug, Clone, Copy)]
pub struct Presign<'a> {
    pub method: &'a str,
    /// `scheme://host[:port]`, as clients will reach it.
    pub origin: &'a str,
    /// The `Host` header clients will send, which the signature covers.
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
    pub expires_in: Duration,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("scope", &self.scope)
            .field("amz_date", &self.amz_date)
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// The presigned URL for `request`.
    pub fn presign(&self, request: &Presign<'_>) -> String {
        // Headers: `host` sorted in among the others.
        let mut headers: [(&str, &str); 8] = [("", ""); 8];
        let count = request.headers.len().min(headers.len() - 1);
        headers[..count].copy_from_slice(&request.headers[..count]);
        headers[count] = ("host", request.host);
        let headers = &mut headers[..=count];
        headers.sort_unstable_by(|a, b| a.0.cmp(b.0));

        let mut signed_headers = String::with_capacity(64);
        for (name, _) in headers.iter() {
            if !signed_headers.is_empty() {
                signed_headers.push(';');
            }
            signed_headers.push_str(name);
        }

        // Canonical query: the batch's fixed head, then the rest in name order.
        // Upper-case `X-Amz-*` names sort before the lower-case S3 parameters.
        let mut query = String::with_capacity(self.query_head.len() + 256);
        query.push_str(&self.query_head);
        let _ = write!(query, "&X-Amz-Expires={}", request.expires_in.as_secs());
        if let Some(token) = &self.session_token {
            query.push_str("&X-Amz-Security-Token=");
            query.push_str(token);
        }
        query.push_str("&X-Amz-SignedHeaders=");
        push_encoded(&mut query, &signed_headers);
        let mut params: Vec<(&str, &str)> = request.query.to_vec();
        params.sort_unstable();
        for (name, value) in params {
            query.push('&');
            push_encoded(&mut query, name);
            query.push('=');
            push_encoded(&mut query, value);
        }

        let mut hash = Sha256::new();
        hash.update(request.method.as_bytes());
        hash.update(b"\n");
        hash.update(request.path.as_bytes());
        hash.update(b"\n");
        hash.update(query.as_bytes());
        hash.update(b"\n");
        for (name, value) in headers.iter() {
            hash.update(name.as_bytes());
            hash.update(b":");
            hash.update(value.trim().as_bytes());
            hash.update(b"\n");
        }
        hash.update(b"\n");
        hash.update(signed_headers.as_bytes());
        hash.update(b"\nUNSIGNED-PAYLOAD");
        let mut hex_hash = [0u8; 64];
        hex::encode_to_slice(hash.finalize(), &mut hex_hash).expect("64 hex digits");

        let mut mac = self.mac.clone();
        mac.update(self.sts_head.as_bytes());
        mac.update(&hex_hash);
        let mut signature = [0u8; 64];
        hex::encode_to_slice(mac.finalize().into_bytes(), &mut signature).expect("64 hex digits");

        let mut url =
            String::with_capacity(request.origin.len() + request.path.len() + query.len() + 90);
        url.push_str(request.origin);
        url.push_str(request.path);
        url.push('?');
        url.push_str(&query);
        url.push_str("&X-Amz-Signature=");
        url.push_str(std::str::from_utf8(&signature).expect("hex is ASCII"));
        url
    }

    /// Builds and signs a SigV4 POST policy. The returned fields go into the form
    /// before the `file` field, exactly as given.
    pub fn post_policy(&self, policy: &PostPolicy<'_>) -> Result<Vec<(String, String)>, SignError> {
        let expiration = (self.now + policy.expires_in)
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .map_err(|e| SignError(e.to_string()))?;

        let mut fields: Vec<(String, String)> = vec![
            ("key".into(), policy.key.into()),
            ("Content-Type".into(), policy.content_type.into()),
            ("x-amz-algorithm".into(), ALGORITHM.into()),
            ("x-amz-credential".into(), self.credential.clone()),
            ("x-amz-date".into(), self.amz_date.clone()),
        ];
        if let Some(token) = &self.session_token {
            fields.push(("x-amz-security-token".into(), token.clone()));
        }
        if let Some(checksum) = policy.checksum_sha256 {
            fields.push(("x-amz-checksum-algorithm".into(), "SHA256".into()));
            fields.push(("x-amz-checksum-sha256".into(), checksum.into()));
        }
        if let Some(sse) = policy.sse {
            fields.extend(
                super::encryption::headers(sse)
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value.to_owned())),
            );
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
        let document = serde_json::json!({ "expiration": expiration, "conditions": conditions });
        let encoded = BASE64.encode(document.to_string());
        let signature = self.hmac_hex(encoded.as_bytes());
        fields.push(("policy".into(), encoded));
        fields.push(("x-amz-signature".into(), signature));
        Ok(fields)
    }

    fn hmac_hex(&self, data: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// What a browser form may upload: one exact key and type, a size range.
#[derive(Debug, Clone)]
pub struct PostPolicy<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub min_size: u64,
    pub max_size: u64,
    pub checksum_sha256: Option<&'a str>,
    pub expires_in: Duration,
    /// Pinned as exact fields, so the form cannot leave encryption out.
    pub sse: Option<&'a super::Sse>,
}

/// SigV4 URI encoding: everything but RFC 3986 unreserved characters, `%XX` uppercase.
pub fn uri_encode(input: &str) -> String {
    percent_encode(input, b"-._~")
}

pub use crate::storage::encoding::percent_encode;
use crate::storage::encoding::push_percent_encoded;

fn push_encoded(out: &mut String, input: &str) {
    push_percent_encoded(out, input, b"-._~");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_sigv4::http_request::{
        PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    use aws_smithy_runtime_api::client::identity::Identity;

    use super::*;

    const AWS_EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            AWS_EXAMPLE_SECRET,
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    /// "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)"
    /// in the S3 API reference publishes this policy, encoded, and its signature.
    #[test]
    fn post_signature_matches_the_aws_published_example() {
        let policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        let day = SystemTime::from(time::macros::datetime!(2015-12-29 00:00 UTC));
        let batch = Signer::new("us-east-1")
            .at(&credentials(None), day)
            .expect("batch");
        assert_eq!(
            batch.hmac_hex(policy.as_bytes()),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn post_policy_pins_key_type_size_and_checksum() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let batch = Signer::new("us-east-1")
            .at(&credentials(None), now)
            .expect("batch");
        let fields: BTreeMap<String, String> = batch
            .post_policy(&PostPolicy {
                bucket: "b",
                key: "staging/1",
                content_type: "image/png",
                min_size: 10,
                max_size: 10,
                checksum_sha256: Some("abc="),
                expires_in: Duration::from_secs(60),
                sse: None,
            })
            .expect("signs")
            .into_iter()
            .collect();
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
            "AKIDEXAMPLE/20231114/us-east-1/s3/aws4_request"
        );
    }

    /// The reference: `aws-sigv4`'s own presigner, configured as S3 wants it.
    fn reference(
        creds: &Credentials,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        expires_in: Duration,
        now: SystemTime,
    ) -> BTreeMap<String, String> {
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity: Identity = creds.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-3")
            .name(SERVICE)
            .time(now)
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::UnsignedPayload,
        )
        .expect("request");
        let (instructions, _) = sign(request, &params).expect("sign").into_parts();
        instructions
            .params()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_string()))
            .collect()
    }

    fn query_of(url: &str) -> BTreeMap<String, String> {
        url::Url::parse(url)
            .expect("url")
            .query_pairs()
            .into_owned()
            .collect()
    }

    #[test]
    fn presigned_urls_match_aws_sigv4() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_123);
        for token in [None, Some("session/token+with=odd chars")] {
            let creds = credentials(token);
            let batch = Signer::new("eu-west-3").at(&creds, now).expect("batch");
            let headers = [
                ("content-length", "5242880"),
                ("x-amz-checksum-sha256", "q1w2e3=="),
            ];
            let ours = batch.presign(&Presign {
                method: "PUT",
                origin: "http://127.0.0.1:9000",
                host: "127.0.0.1:9000",
                path: "/uploads/dir/a%20b~c.bin",
                query: &[("partNumber", "7"), ("uploadId", "abc/def+=")],
                headers: &headers,
                expires_in: Duration::from_secs(900),
            });
            let url = "http://127.0.0.1:9000/uploads/dir/a%20b~c.bin?partNumber=7&uploadId=abc%2Fdef%2B%3D";
            let mut with_host = headers.to_vec();
            with_host.push(("host", "127.0.0.1:9000"));
            let expected = reference(
                &creds,
                "PUT",
                url,
                &with_host,
                Duration::from_secs(900),
                now,
            );
            let ours = query_of(&ours);
            for (name, value) in &expected {
                assert_eq!(ours.get(name), Some(value), "{name}");
            }
            assert_eq!(ours["uploadId"], "abc/def+=");
            assert_eq!(
                ours["X-Amz-SignedHeaders"],
                "content-length;host;x-amz-checksum-sha256"
            );
            assert!(
                ours.keys().all(|k| !k.starts_with("x-amz-checksum")),
                "no checksum parameter"
            );
        }
    }

    #[test]
    fn the_day_key_is_derived_again_for_another_day_or_key() {
        let signer = Signer::new("us-east-1");
        let day1 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let day2 = day1 + Duration::from_secs(86_400);
        let sign = |creds: &Credentials, at| signer.at(creds, at).expect("batch").hmac_hex(b"x");
        let a = sign(&credentials(None), day1);
        let b = sign(&credentials(None), day2);
        let other = Credentials::new("OTHER", "secret", None, None, "test");
        let c = sign(&other, day2);
        assert!(a != b && b != c);
        assert_eq!(sign(&credentials(None), day1), a);
    }
}
