//! Typed calls to API v1, each retried on network errors, 5xx and 429.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uploadgate_api::{
    CompleteUpload, CreateUpload, DownloadLink, ErrorCode, ListQuery, Problem, SignParts,
    SignedParts, UploadList, UploadRecord,
};
use uuid::Uuid;

use crate::error::{Attempt, ClientError};
use crate::retry::RetryPolicy;

/// How long one API call may take before it counts as failed (and is retried).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Completing a large multipart upload makes the store assemble it: minutes on
/// slow stores.
const COMPLETE_TIMEOUT: Duration = Duration::from_secs(600);
/// Between two asks while another request completes the same upload.
const COMPLETION_WAIT: Duration = Duration::from_secs(5);

/// uploadgate's API, as one user: the token's, or with an API key, the one
/// `acting_for` names.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: url::Url,
    token: String,
    acting_for: Option<String>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .field("acting_for", &self.acting_for)
            .finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(server: &str, token: &str) -> Result<Self, ClientError> {
        // A trailing slash, so that paths join under it rather than replace its last segment.
        let base = url::Url::parse(&format!("{}/", server.trim_end_matches('/')))
            .map_err(|e| ClientError::Usage(format!("invalid server URL {server:?}: {e}")))?;
        if token.trim().is_empty() {
            return Err(ClientError::Usage("the token is empty".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Idle connections to storage are reused across parts.
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            token: token.trim().to_owned(),
            acting_for: None,
            retry: RetryPolicy::default(),
        })
    }

    /// With an API key (`ugk_...`) as the token: every call acts for `user`
    /// (the `Uploadgate-User` header).
    pub fn acting_for(mut self, user: impl Into<String>) -> Self {
        self.acting_for = Some(user.into());
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The HTTP client, shared with the requests sent to storage.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The server's base URL, as given.
    pub fn server(&self) -> &str {
        self.base.as_str()
    }

    /// Creates an upload. Retries (after a lost answer) carry the same
    /// `Idempotency-Key`, so they get the same upload back, never a second.
    pub async fn create(&self, request: &CreateUpload) -> Result<UploadRecord, ClientError> {
        let key = Uuid::new_v4().to_string();
        self.call_accepting(
            Method::POST,
            "v1/uploads",
            Some(request),
            None,
            CALL_TIMEOUT,
            Some(&key),
        )
        .await
    }

    pub async fn get(&self, id: Uuid) -> Result<UploadRecord, ClientError> {
        self.call::<(), _>(Method::GET, &format!("v1/uploads/{id}"), None)
            .await
    }

    /// The caller's uploads (with an admin API key that acts for nobody,
    /// everybody's), newest first, as `query` filters them.
    pub async fn list(&self, query: &ListQuery) -> Result<UploadList, ClientError> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.pairs())
            .finish();
        let path = format!("v1/uploads?{query}");
        self.call::<(), _>(Method::GET, path.trim_end_matches('?'), None)
            .await
    }

    pub async fn sign_parts(
        &self,
        id: Uuid,
        request: &SignParts,
    ) -> Result<SignedParts, ClientError> {
        self.call(
            Method::POST,
            &format!("v1/uploads/{id}/parts"),
            Some(request),
        )
        .await
    }

    /// Completing is idempotent on the server, so retrying it is safe. An
    /// upload that failed verification comes back as a record with status
    /// `rejected` (the server's 422), not as an error.
    pub async fn complete(
        &self,
        id: Uuid,
        request: &CompleteUpload,
    ) -> Result<UploadRecord, ClientError> {
        self.call_accepting(
            Method::POST,
            &format!("v1/uploads/{id}/complete"),
            Some(request),
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            COMPLETE_TIMEOUT,
            None,
        )
        .await
    }

    /// Cancels an upload in progress (`aborted`), or deletes a finished one
    /// (`deleted`: its objects leave storage, its record stays as a tombstone).
    pub async fn delete(&self, id: Uuid) -> Result<UploadRecord, ClientError> {
        self.call::<(), _>(Method::DELETE, &format!("v1/uploads/{id}"), None)
            .await
    }

    /// Cancels an upload in progress; one that has finished meanwhile is
    /// kept (`upload_finished`), never deleted.
    pub async fn abort(&self, id: Uuid) -> Result<UploadRecord, ClientError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("v1/uploads/{id}?cancel=true"),
            None,
        )
        .await
    }

    pub async fn download_link(&self, id: Uuid) -> Result<DownloadLink, ClientError> {
        self.call::<(), _>(Method::GET, &format!("v1/uploads/{id}/download"), None)
            .await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.call_accepting(method, path, body, None, CALL_TIMEOUT, None)
            .await
    }

    /// `call`, reading the body of an `also` answer as a result too, and
    /// sending `idempotency_key` with every attempt.
    async fn call_accepting<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        also: Option<StatusCode>,
        timeout: Duration,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ClientError::Usage(format!("invalid path {path}: {e}")))?;
        self.retry
            .run(
                |_| {
                    let mut request = self
                        .http
                        .request(method.clone(), url.clone())
                        .bearer_auth(&self.token)
                        .timeout(timeout);
                    if let Some(user) = &self.acting_for {
                        request = request.header("uploadgate-user", user);
                    }
                    if let Some(key) = idempotency_key {
                        request = request.header("idempotency-key", key);
                    }
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    async move {
                        let response = request.send().await.map_err(network)?;
                        decode(response, also).await
                    }
                },
                &|reason, delay| {
                    tracing::info!(%reason, ?delay, "retrying an API call");
                },
            )
            .await
    }
}

/// A failure to reach the server: always worth another try.
pub(crate) fn network(err: reqwest::Error) -> Attempt {
    Attempt::Retry {
        // Without the URL: for storage requests it carries a signature.
        reason: err.without_url().to_string(),
        after: None,
    }
}

/// `Retry-After` in seconds, when present.
pub(crate) fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs)
}

async fn decode<T: DeserializeOwned>(
    response: Response,
    also: Option<StatusCode>,
) -> Result<T, Attempt> {
    let status = response.status();
    if status.is_success() || Some(status) == also {
        return response
            .json()
            .await
            .map_err(|e| Attempt::Fail(ClientError::Protocol(e.to_string())));
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(Attempt::Retry {
            reason: format!("the server answered {status}"),
            after: retry_after(&response),
        });
    }
    let problem = response.json::<Problem>().await.ok();
    // Another request (often this client's own, interrupted) is verifying the
    // upload; its answer will be the same, so wait for it.
    if problem
        .as_ref()
        .is_some_and(|p| p.code == ErrorCode::CompletionInProgress)
    {
        return Err(Attempt::Retry {
            reason: "another request is completing this upload".into(),
            after: Some(COMPLETION_WAIT),
        });
    }
    // This client's own earlier attempt is still creating the upload; its
    // key will answer with it once done.
    if problem
        .as_ref()
        .is_some_and(|p| p.code == ErrorCode::CreationInProgress)
    {
        return Err(Attempt::Retry {
            reason: "an earlier attempt is still creating this upload".into(),
            after: Some(Duration::from_secs(1)),
        });
    }
    Err(Attempt::Fail(ClientError::Refused {
        status: status.as_u16(),
        code: problem.as_ref().map_or(ErrorCode::Unknown, |p| p.code),
        detail: problem
            .and_then(|p| p.detail)
            .unwrap_or_else(|| status.to_string()),
    }))
}
