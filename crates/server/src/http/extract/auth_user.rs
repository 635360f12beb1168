use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use uploadgate_api::ErrorCode;

use crate::auth::{Caller, KeyHolder, Principal, Scope, Via};
use crate::http::{ApiError, AppState};

/// The header an API key names the user it acts for in.
pub const ACT_FOR_HEADER: &str = "uploadgate-user";

/// Whoever presented `Authorization: Bearer <credential>`: a user's token, a
/// scoped upload token, or an API key.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
        let credential = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be Bearer <token>")
            })?;
        Ok(Authenticated(state.auth.authenticate(credential).await?))
    }
}

/// The user a request acts for: a user's own token, or an API key with the
/// `uploads` scope acting for the user its `Uploadgate-User` header names.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        match caller {
            Caller::User(principal) => Ok(AuthUser(principal)),
            Caller::Backend(key) => acting_for(parts, &key).map(AuthUser),
        }
    }
}

/// The user an API key acts for on this request.
pub fn acting_for(parts: &Parts, key: &KeyHolder) -> Result<Principal, ApiError> {
    if !key.scopes.contains(&Scope::Uploads) {
        return Err(ApiError::new(
            ErrorCode::NotPermitted,
            "this API key may not act for users: it lacks the uploads scope",
        ));
    }
    let user = parts
        .headers
        .get(ACT_FOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("an API key acts for a user: name them in Uploadgate-User")
        })?;
    crate::auth::check_user_id(user).map_err(ApiError::from)?;
    Ok(Principal {
        user: user.to_owned(),
        via: Via::ApiKey(key.name.clone()),
    })
}

/// Whose uploads or jobs a listing shows: a user's own (by their token, or
/// by an API key acting for them), or, for an API key with the `admin` scope
/// that names no user, everybody's (`None`). A scoped upload token lists
/// nothing: it is for sending files, not reading them.
#[derive(Debug, Clone)]
pub struct ListAs(pub Option<Principal>);

impl FromRequestParts<AppState> for ListAs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        match caller {
            Caller::User(principal) => Ok(ListAs(Some(reader(principal)?))),
            Caller::Backend(key) if parts.headers.contains_key(ACT_FOR_HEADER) => {
                acting_for(parts, &key).map(|p| ListAs(Some(p)))
            }
            Caller::Backend(key) => Backend(key).require(Scope::Admin).map(|_| ListAs(None)),
        }
    }
}

/// `principal`, unless its credential only sends files (a scoped upload token).
pub fn reader(principal: Principal) -> Result<Principal, ApiError> {
    match principal.via {
        Via::UploadToken(_) => Err(ApiError::new(
            ErrorCode::NotPermitted,
            "an upload token sends files; it cannot list or download them",
        )),
        Via::Token | Via::ApiKey(_) => Ok(principal),
    }
}

/// An API key with `scope`: routes for the application's backend only.
#[derive(Debug, Clone)]
pub struct Backend(pub KeyHolder);

impl Backend {
    pub fn require(self, scope: Scope) -> Result<KeyHolder, ApiError> {
        if self.0.scopes.contains(&scope) {
            Ok(self.0)
        } else {
            Err(ApiError::new(
                ErrorCode::NotPermitted,
                format!("this API key lacks the {} scope", scope.as_str()),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Backend {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Authenticated::from_request_parts(parts, state).await?.0 {
            Caller::Backend(key) => Ok(Backend(key)),
            Caller::User(_) => Err(ApiError::new(
                ErrorCode::NotPermitted,
                "this route is for the application's backend: authenticate with an API key",
            )),
        }
    }
}
