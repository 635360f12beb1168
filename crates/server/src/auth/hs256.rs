use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use uuid::Uuid;

use super::cache::VerifiedCache;
use super::{AuthError, Authenticator, Caller, Grant, Principal, Via};
use crate::config::AuthConfig;
use crate::secret::Secret;

/// Longest accepted user id, so an id always fits in keys and log lines.
pub const MAX_USER_LEN: usize = 128;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// Checked by `jsonwebtoken` (with `aud`); here for minting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// Present in a scoped upload token: what its uploads may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload: Option<UploadClaim>,
}

/// The `upload` claim of a scoped upload token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadClaim {
    profile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_files: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
}

/// What a scoped upload token allows, for `Hs256::mint_upload_token`.
#[derive(Debug, Clone)]
pub struct UploadTokenRequest {
    pub user: String,
    pub grant: Grant,
    /// When it ends: when its grant does.
    pub expires_at: OffsetDateTime,
}

/// The JWT `typ` of scoped upload tokens.
const UPLOAD_TOKEN_TYPE: &str = "ug-upload+jwt";

/// Tokens signed with one shared HMAC-SHA256 secret: users' bearer tokens
/// and, with a key derived from it, scoped upload tokens. The application
/// may share the secret with other verifiers (Supabase's, its own); a
/// narrow token handed to a browser must not pass as a user's token there.
pub struct Hs256 {
    encoding: EncodingKey,
    decoding: DecodingKey,
    upload_encoding: EncodingKey,
    upload_decoding: DecodingKey,
    validation: Validation,
    /// `iss` and `aud` of minted tokens.
    issuer: Option<String>,
    audience: Option<String>,
    verified: VerifiedCache,
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(<secret>)")
    }
}

impl Hs256 {
    /// Tokens signed with `secret`, which must also carry what `claims` asks.
    pub fn new(secret: &Secret, claims: &AuthConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        let mut required = vec!["exp", "sub"];
        validation.leeway = 30;
        // A token that says it is not valid yet is not.
        validation.validate_nbf = true;
        if let Some(issuer) = &claims.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if claims.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&claims.audiences);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        let upload_key = upload_token_key(secret);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            upload_encoding: EncodingKey::from_secret(&upload_key),
            upload_decoding: DecodingKey::from_secret(&upload_key),
            validation,
            issuer: claims.issuer.clone(),
            audience: claims.audiences.first().cloned(),
            verified: VerifiedCache::default(),
        }
    }

    /// A token for `user`, valid for `ttl`.
    pub fn mint(&self, user: &str, ttl: Duration) -> Result<String, AuthError> {
        check_user(user)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.to_owned(),
            exp: now.saturating_add(ttl),
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: None,
            upload: None,
        };
        self.sign(&claims)
    }

    /// A scoped upload token for `request.user`, restricted to its grant,
    /// valid until `request.expires_at`.
    pub fn mint_upload_token(&self, request: &UploadTokenRequest) -> Result<String, AuthError> {
        check_user(&request.user)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let grant = &request.grant;
        let claims = Claims {
            sub: request.user.clone(),
            exp: request.expires_at.unix_timestamp(),
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: Some(grant.id.to_string()),
            upload: Some(UploadClaim {
                profile: grant.profile.clone(),
                max_bytes: grant.max_bytes,
                max_files: grant.max_files,
                metadata: grant.metadata.clone(),
            }),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(UPLOAD_TOKEN_TYPE.into());
        jsonwebtoken::encode(&header, &claims, &self.upload_encoding)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

#[async_trait]
impl Authenticator for Hs256 {
    async fn authenticate(&self, token: &str) -> Result<Caller, AuthError> {
        self.verify(token).map(Caller::User)
    }
}

impl Hs256 {
    /// The user `token` names, if it is one of ours and valid now.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_at(token, OffsetDateTime::now_utc().unix_timestamp())
    }

    /// `verify` at `now` (Unix seconds) for a token verified before; a new
    /// token is checked against the clock, by `jsonwebtoken`.
    fn verify_at(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        if let Some(known) = self.verified.get(token, now, self.validation.leeway) {
            return known;
        }
        // The header picks the key; each key's tokens must be of its kind,
        // so neither passes for the other.
        let upload_token = jsonwebtoken::decode_header(token)
            .is_ok_and(|h| h.typ.as_deref() == Some(UPLOAD_TOKEN_TYPE));
        let key = if upload_token {
            &self.upload_decoding
        } else {
            &self.decoding
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|e| refusal(&e, "only HS256 is accepted"))?;
        check_user(&data.claims.sub)?;
        let via = match data.claims.upload {
            None if upload_token => {
                return Err(AuthError::Invalid(
                    "an upload token needs its upload claim".into(),
                ));
            }
            None => Via::Token,
            Some(_) if !upload_token => {
                return Err(AuthError::Invalid("not an upload token".into()));
            }
            Some(upload) => {
                let id = data
                    .claims
                    .jti
                    .as_deref()
                    .and_then(|jti| Uuid::parse_str(jti).ok())
                    .ok_or_else(|| AuthError::Invalid("an upload token needs its jti".into()))?;
                Via::UploadToken(Grant {
                    id,
                    profile: upload.profile,
                    max_bytes: upload.max_bytes,
                    max_files: upload.max_files,
                    metadata: upload.metadata,
                })
            }
        };
        // uploadgate minted an upload token by its own clock, and its grant
        // ends at `exp`: no leeway, or a token the grant no longer honours
        // would pass here and fail as "limit reached".
        let exp = match via {
            Via::UploadToken(_) if data.claims.exp <= now => return Err(AuthError::Expired),
            Via::UploadToken(_) => data.claims.exp.saturating_sub(leeway(&self.validation)),
            _ => data.claims.exp,
        };
        let principal = Principal {
            user: data.claims.sub,
            via,
        };
        self.verified.put(token, principal.clone(), exp);
        Ok(principal)
    }
}

/// The key of scoped upload tokens: HMAC-SHA256 of a fixed label under the
/// secret, so it is neither the secret nor found without it.
fn upload_token_key(secret: &Secret) -> [u8; 32] {
    use hmac::{Hmac, KeyInit as _, Mac as _};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"uploadgate upload-token key v1");
    mac.finalize().into_bytes().into()
}

fn leeway(validation: &Validation) -> i64 {
    i64::try_from(validation.leeway).unwrap_or(0)
}

/// A `jsonwebtoken` refusal in the words a client reads.
pub(super) fn refusal(err: &jsonwebtoken::errors::Error, wrong_algorithm: &str) -> AuthError {
    match err.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => {
            AuthError::Invalid("the token is not valid yet (nbf)".into())
        }
        ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer (iss)".into()),
        ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience (aud)".into()),
        ErrorKind::MissingRequiredClaim(claim) => {
            AuthError::Invalid(format!("the {claim} claim is required"))
        }
        ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthError::Invalid(wrong_algorithm.into())
        }
        _ => AuthError::Invalid("malformed token".into()),
    }
}

/// A user id fit for keys and log lines.
pub(super) fn check_user(user: &str) -> Result<(), AuthError> {
    if user.is_empty() || user.len() > MAX_USER_LEN || user.chars().any(char::is_control) {
        return Err(AuthError::Invalid(format!(
            "sub must be 1 to {MAX_USER_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-test-secret-test-secret";

    fn auth() -> Hs256 {
        Hs256::new(&Secret::new(SECRET), &AuthConfig::default())
    }

    #[tokio::test]
    async fn minted_tokens_authenticate() {
        let token = auth().mint("alice", Duration::from_secs(60)).expect("mint");
        assert_eq!(auth().verify(&token).expect("valid").user, "alice");
    }

    #[tokio::test]
    async fn other_secrets_and_expired_tokens_fail() {
        let other = Hs256::new(
            &Secret::new("another-secret-another-secret-xx"),
            &AuthConfig::default(),
        );
        let token = other.mint("alice", Duration::from_secs(60)).expect("mint");
        assert!(matches!(auth().verify(&token), Err(AuthError::Invalid(_))));

        let claims = Claims {
            sub: "alice".into(),
            exp: 1_000,
            iat: None,
            iss: None,
            aud: None,
            jti: None,
            upload: None,
        };
        let old = jsonwebtoken::encode(&Header::default(), &claims, &auth().encoding).expect("enc");
        assert_eq!(auth().verify(&old), Err(AuthError::Expired));
    }

    #[tokio::test]
    async fn remembered_tokens_still_expire() {
        let auth = auth();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let token = auth.mint("alice", Duration::from_secs(60)).expect("mint");
        assert_eq!(auth.verify(&token).expect("valid").user, "alice");
        assert_eq!(auth.verified.len(), 1);
        assert_eq!(
            auth.verify_at(&token, now + 60 + 30)
                .expect("within leeway")
                .user,
            "alice"
        );
        assert_eq!(
            auth.verify_at(&token, now + 60 + 32),
            Err(AuthError::Expired)
        );
        // A token one byte off is not the remembered one: it is verified, and fails.
        let at = token.len() - 10;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert!(matches!(auth.verify(&forged), Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn tokens_without_exp_are_refused() {
        #[derive(Serialize)]
        struct NoExp {
            sub: String,
        }
        let token = jsonwebtoken::encode(
            &Header::default(),
            &NoExp {
                sub: "alice".into(),
            },
            &auth().encoding,
        )
        .expect("enc");
        assert!(auth().verify(&token).is_err());
    }

    /// A token with `claims` (JSON) signed with the test secret.
    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::default(), &claims, &auth().encoding).expect("enc")
    }

    #[tokio::test]
    async fn a_token_is_not_valid_before_its_nbf() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let tomorrow = signed(
            serde_json::json!({"sub": "alice", "exp": now + 2 * 86_400, "nbf": now + 86_400}),
        );
        assert!(matches!(
            auth().verify(&tomorrow),
            Err(AuthError::Invalid(why)) if why.contains("nbf")
        ));
        let valid = signed(serde_json::json!({"sub": "alice", "exp": now + 60, "nbf": now - 1}));
        assert_eq!(auth().verify(&valid).expect("valid").user, "alice");
    }

    #[tokio::test]
    async fn upload_tokens_and_user_tokens_never_pass_for_each_other() {
        let grant = Grant {
            id: Uuid::now_v7(),
            profile: "avatars".into(),
            max_bytes: None,
            max_files: Some(1),
            metadata: BTreeMap::new(),
        };
        let expires_at = OffsetDateTime::now_utc() + Duration::from_secs(60);
        let upload = auth()
            .mint_upload_token(&UploadTokenRequest {
                user: "alice".into(),
                grant,
                expires_at,
            })
            .expect("mint");
        assert!(matches!(
            auth().verify(&upload).expect("valid").via,
            Via::UploadToken(_)
        ));
        // The same claims under the user-token key, with or without the
        // upload-token header: an upload claim where it does not belong.
        let payload = upload.split('.').nth(1).expect("payload");
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64"),
        )
        .expect("json");
        let forged = signed(claims.clone());
        assert!(
            auth().verify(&forged).is_err(),
            "upload claim under the user key"
        );
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(UPLOAD_TOKEN_TYPE.into());
        let retyped = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("sign");
        assert!(auth().verify(&retyped).is_err(), "upload header, user key");
    }

    #[tokio::test]
    async fn a_configured_issuer_and_audience_are_required() {
        let claims = AuthConfig {
            issuer: Some("https://app.example".into()),
            audiences: vec!["uploadgate".into(), "files".into()],
            ..AuthConfig::default()
        };
        let strict = Hs256::new(&Secret::new(SECRET), &claims);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let exp = now + 60;
        for (claims, why) in [
            (serde_json::json!({"sub": "a", "exp": exp}), "no iss or aud"),
            (
                serde_json::json!({"sub": "a", "exp": exp, "aud": "files"}),
                "no iss",
            ),
            (
                serde_json::json!({"sub": "a", "exp": exp, "iss": "https://app.example"}),
                "no aud",
            ),
            (
                serde_json::json!({"sub": "a", "exp": exp, "iss": "https://evil.example", "aud": "files"}),
                "wrong iss",
            ),
            (
                serde_json::json!({"sub": "a", "exp": exp, "iss": "https://app.example", "aud": "other"}),
                "wrong aud",
            ),
        ] {
            assert!(
                strict.verify(&signed(claims)).is_err(),
                "accepted with {why}"
            );
        }
        let good = signed(
            serde_json::json!({"sub": "a", "exp": exp, "iss": "https://app.example", "aud": ["x", "files"]}),
        );
        assert_eq!(strict.verify(&good).expect("valid").user, "a");
        // What `uploadgate token` mints passes.
        let minted = strict.mint("b", Duration::from_secs(60)).expect("mint");
        assert_eq!(strict.verify(&minted).expect("valid").user, "b");
    }
}
