//! Requests to a running uploadgate API, as one or more users.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use uploadgate_api::{CreateUpload, UploadRecord};
use uploadgate_server::auth::Hs256;

use crate::flow::{PNG, put_as_instructed};

/// Where tokens come from: minted with the server's secret (in-process), or
/// the one a binary printed.
#[derive(Clone)]
enum Tokens {
    Mint(Arc<Hs256>),
    Fixed(String),
}

/// An API base URL, an HTTP client and a way to get each user's token.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    pub base: String,
    tokens: Tokens,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

impl Api {
    /// The API at `base`, minting each user's token with `tokens`.
    pub fn minting(base: impl Into<String>, tokens: Arc<Hs256>) -> Self {
        Self {
            client: client(),
            base: base.into(),
            tokens: Tokens::Mint(tokens),
        }
    }

    /// The API at `base`, calling with one `token` whatever user is named
    /// (the token a binary printed).
    pub fn with_token(base: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            client: client(),
            base: base.into(),
            tokens: Tokens::Fixed(token.into()),
        }
    }

    pub fn token(&self, user: &str) -> String {
        match &self.tokens {
            Tokens::Mint(tokens) => tokens.mint(user, Duration::from_secs(600)).expect("mint"),
            Tokens::Fixed(token) => token.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, user: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.token(user))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, user: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.token(user))
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, user: &str, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(self.token(user))
            .send()
            .await
            .expect("request")
    }

    /// `GET path` expecting 200; returns the body.
    pub async fn get_json(&self, user: &str, path: &str) -> Value {
        let response = self.get(user, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.expect("json")
    }

    /// `POST /v1/uploads`, expecting 201; returns the record.
    pub async fn create(&self, user: &str, body: Value) -> Value {
        let response = self.post_json(user, "/v1/uploads", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.expect("json")
    }

    /// `POST /v1/uploads` with a typed request, expecting 201.
    pub async fn create_upload(&self, user: &str, request: &CreateUpload) -> UploadRecord {
        let body = serde_json::to_value(request).expect("serialize");
        serde_json::from_value(self.create(user, body).await).expect("an upload record")
    }

    /// Creates a PUT upload for `bytes` declared as `content_type`.
    pub async fn create_put(&self, user: &str, content_type: &str, bytes: &[u8]) -> Value {
        self.create(
            user,
            json!({"filename": "file.bin", "contentType": content_type, "size": bytes.len()}),
        )
        .await
    }

    /// Creates a PUT upload for `PNG` and sends it to storage; returns the record.
    pub async fn send_png(&self, user: &str) -> Value {
        let record = self.create_put(user, "image/png", PNG).await;
        let response = put_as_instructed(&self.client, &record, PNG.to_vec(), &[]).await;
        crate::assert_stored(&response);
        record
    }

    pub async fn complete(&self, user: &str, id: &str) -> Response {
        self.post_json(user, &format!("/v1/uploads/{id}/complete"), &json!({}))
            .await
    }

    /// The whole flow of a single-request upload: create it in `profile`
    /// (the default when `None`), PUT `bytes` to storage, complete it.
    /// Returns the completed record (200) or the rejected one (422).
    pub async fn upload(
        &self,
        user: &str,
        profile: Option<&str>,
        content_type: &str,
        bytes: &[u8],
    ) -> UploadRecord {
        let record = self
            .create(
                user,
                json!({"filename": "file.bin", "contentType": content_type,
                       "size": bytes.len(), "profile": profile}),
            )
            .await;
        let stored = put_as_instructed(&self.client, &record, bytes.to_vec(), &[]).await;
        crate::assert_stored(&stored);
        let id = crate::id_of(&record);
        let completed = self.complete(user, &id).await;
        assert!(
            matches!(
                completed.status(),
                StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "complete answered {}",
            completed.status()
        );
        completed.json().await.expect("an upload record")
    }

    /// Downloads a completed upload's bytes through its presigned GET.
    pub async fn download(&self, user: &str, id: &str) -> Vec<u8> {
        let response = self.get(user, &format!("/v1/uploads/{id}/download")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link: Value = response.json().await.expect("json");
        let url = link["url"].as_str().expect("url");
        let object = self.client.get(url).send().await.expect("download");
        assert_eq!(object.status(), StatusCode::OK);
        object.bytes().await.expect("bytes").to_vec()
    }
}
