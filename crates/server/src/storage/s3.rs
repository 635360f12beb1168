use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bytes::Bytes;
use url::Url;

use super::signer::{self, PostPolicy};
use super::{
    CachedCredentials, ObjectHead, ObjectStore, PresignedPost, PresignedPut, StorageError,
    UploadTarget,
};
use crate::secret::Secret;

/// Every storage call gives up after this long, so a stuck store cannot pin requests.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct S3StoreSettings {
    /// Where uploadgate itself reaches the store; `None` means AWS S3.
    pub endpoint: Option<Url>,
    /// Where clients reach the store, when that differs from `endpoint`.
    pub public_endpoint: Option<Url>,
    pub bucket: String,
    pub region: String,
    pub force_path_style: bool,
    /// `None`: the standard AWS credential chain.
    pub credentials: Option<(String, Secret)>,
}

/// Any S3-compatible store, through the official SDK; presigning is done here
/// with `aws-sigv4` so no SDK default (like a CRC32 of an empty body) sneaks in.
#[derive(Debug)]
pub struct S3Store {
    client: Client,
    credentials: CachedCredentials,
    settings: S3StoreSettings,
}

impl S3Store {
    pub async fn connect(settings: S3StoreSettings) -> Result<Self, StorageError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()));
        if let Some((id, secret)) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.expose().to_owned(),
                None,
                None,
                "uploadgate-config",
            ));
        }
        let sdk = loader.load().await;
        let provider: SharedCredentialsProvider = sdk
            .credentials_provider()
            .ok_or_else(|| StorageError::Other("no AWS credential provider is available".into()))?;

        let mut config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(settings.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(OPERATION_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
            credentials: CachedCredentials::new(provider),
            settings,
        })
    }

    /// The URL a client uses for `key`, before signing.
    fn object_url(&self, key: &str) -> Result<Url, StorageError> {
        let s = &self.settings;
        let base = match s.public_endpoint.as_ref().or(s.endpoint.as_ref()) {
            Some(url) => url.clone(),
            None => Url::parse(&format!("https://s3.{}.amazonaws.com", s.region))
                .map_err(|e| StorageError::Other(e.to_string()))?,
        };
        let base_path = base.path().trim_end_matches('/');
        let path_style = s.force_path_style || s.endpoint.is_none() && s.bucket.contains('.');
        let mut url = base.clone();
        if path_style {
            url.set_path(&format!("{base_path}/{}/{}", s.bucket, encode_key(key)));
        } else {
            let host = base
                .host_str()
                .ok_or_else(|| StorageError::Other(format!("endpoint {base} has no host")))?;
            url.set_host(Some(&format!("{}.{host}", s.bucket)))
                .map_err(|e| StorageError::Other(e.to_string()))?;
            url.set_path(&format!("{base_path}/{}", encode_key(key)));
        }
        url.set_query(None);
        Ok(url)
    }

    async fn presign(
        &self,
        method: &str,
        url: &Url,
        headers: &BTreeMap<String, String>,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let credentials = self.credentials.get().await?;
        signer::presign_url(
            &credentials,
            &self.settings.region,
            method,
            url,
            headers,
            expires_in,
            SystemTime::now(),
        )
        .map(String::from)
        .map_err(|e| StorageError::Other(e.to_string()))
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        let mut headers = BTreeMap::from([
            ("content-length".to_owned(), target.size.to_string()),
            ("content-type".to_owned(), target.content_type.to_owned()),
        ]);
        if let Some(checksum) = target.checksum_sha256 {
            headers.insert("x-amz-checksum-sha256".to_owned(), checksum.to_owned());
        }
        let url = self.object_url(target.key)?;
        let url = self
            .presign("PUT", &url, &headers, target.expires_in)
            .await?;
        // Browsers set Content-Length themselves and refuse to be told it.
        headers.remove("content-length");
        Ok(PresignedPut { url, headers })
    }

    async fn presign_post(&self, target: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        let credentials = self.credentials.get().await?;
        let fields = signer::sign_post_policy(
            &credentials,
            &self.settings.region,
            &PostPolicy {
                bucket: &self.settings.bucket,
                key: target.key,
                content_type: target.content_type,
                min_size: target.size,
                max_size: target.size,
                checksum_sha256: target.checksum_sha256,
                expires_in: target.expires_in,
            },
            SystemTime::now(),
        )
        .map_err(|e| StorageError::Other(e.to_string()))?;
        // A POST goes to the bucket itself; the key travels as a form field.
        let mut url = self.object_url("")?;
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Ok(PresignedPost {
            url: url.into(),
            fields,
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let mut url = self.object_url(key)?;
        url.query_pairs_mut()
            .append_pair("response-content-disposition", &attachment(filename));
        self.presign("GET", &url, &BTreeMap::new(), expires_in)
            .await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectHead {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or_default().to_owned(),
                content_type: out.content_type().map(str::to_owned),
            })),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(err) => Err(classify(err)),
        }
    }

    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .if_match(etag)
            .range(format!("bytes=0-{}", len.saturating_sub(1)))
            .send()
            .await
            .map_err(classify)?;
        // Not every store honours If-Match on GET (s3s-fs does not): check the
        // version that was actually read, too.
        if out.e_tag().map(unquote) != Some(unquote(etag)) {
            return Err(StorageError::Changed);
        }
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(body.into_bytes())
    }

    async fn copy(&self, from: &str, to: &str, etag: &str) -> Result<(), StorageError> {
        self.client
            .copy_object()
            .bucket(&self.settings.bucket)
            .key(to)
            .copy_source(format!("{}/{}", self.settings.bucket, encode_key(from)))
            .copy_source_if_match(etag)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self
            .client
            .delete_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(())
            }
            Err(err) => Err(classify(err)),
        }
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.settings.bucket)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// Sorts an SDK failure into: precondition lost, worth retrying, or needs an operator.
fn classify<E, R>(err: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let message = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(ctx) => {
            if ctx.err().code() == Some("PreconditionFailed") {
                StorageError::Changed
            } else if matches!(
                ctx.err().code(),
                Some("SlowDown" | "ServiceUnavailable" | "InternalError")
            ) {
                StorageError::Unavailable(message)
            } else {
                StorageError::Other(message)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StorageError::Unavailable(message)
        }
        _ => StorageError::Other(message),
    }
}

fn unquote(etag: &str) -> &str {
    etag.trim_start_matches("W/").trim_matches('"')
}

/// Percent-encodes a key for a URL path, keeping `/` as the separator.
/// Encoding all but RFC 3986 unreserved characters makes the path identical to
/// its SigV4 canonical form, so client and store agree on what was signed.
pub fn encode_key(key: &str) -> String {
    percent_encode(key, b"-._~/")
}

fn percent_encode(input: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `Content-Disposition: attachment` with an ASCII fallback and the exact UTF-8 name.
fn attachment(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(filename, b"-._~");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_like_their_canonical_form() {
        assert_eq!(
            encode_key("uploads/a~b/x y+z.png"),
            "uploads/a~b/x%20y%2Bz.png"
        );
    }

    #[test]
    fn attachment_names_cannot_break_out_of_the_header() {
        let header = attachment("evil\".html\r\nSet-Cookie: x");
        assert!(!header.contains('\r') && !header.contains('\n'));
        assert!(header.starts_with("attachment; filename=\"evil_.html__Set-Cookie: x\""));
    }
}
