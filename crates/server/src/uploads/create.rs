//! Creating an upload: hold it to its profile and quotas, record it, and say
//! how the bytes go to storage. Three shapes, one per door: a declared file
//! (API v1), a POST form of unknown size and a multipart upload whose client
//! picks its own parts (both Uppy's Companion protocol).

use uploadgate_api::{CreateUpload, UploadInstructions, UploadMethod};

use super::grants::Spent;
use super::intake::{self, Intent};
use super::{Invalid, UploadError, Uploads};
use crate::auth::Principal;
use crate::config::{DEFAULT_PROFILE, Profile};
use crate::db::{Method, Multipart, Upload};
use crate::multipart::Layout;
use crate::storage::{PartLimits, PresignedPost, UploadTarget};

impl Uploads {
    /// API v1: an upload of a declared size, sent in one request or, above the
    /// profile's threshold, in parts of a layout the server fixes.
    pub async fn create(
        &self,
        user: &Principal,
        req: CreateUpload,
    ) -> Result<(Upload, UploadInstructions), UploadError> {
        let req = Self::restrict_request(user, req)?;
        self.create_declared(user, req, Shape::Planned).await
    }

    /// `req` held to the caller's credential (`restrict`): once per
    /// creation, at its door, before anything reads its profile.
    fn restrict_request(
        user: &Principal,
        mut req: CreateUpload,
    ) -> Result<CreateUpload, UploadError> {
        let mut metadata = req.metadata.take().unwrap_or_default();
        Self::restrict(user, &mut req.profile, &mut metadata)?;
        req.metadata = Some(metadata);
        Ok(req)
    }

    /// The simple door (`/api/upload/*`): one presigned PUT that needs no
    /// header but `Content-Type`, whatever the profile's multipart threshold,
    /// since its clients know no parts and send nothing else; up to the 5 GiB
    /// that storage takes in one request. Refused before anything is recorded.
    pub async fn create_single_put(
        &self,
        user: &Principal,
        req: CreateUpload,
    ) -> Result<(Upload, UploadInstructions), UploadError> {
        let mut req = Self::restrict_request(user, req)?;
        let can = self.store.capabilities();
        if !can.bare_put {
            return Err(UploadError::NotPermitted(format!(
                "{} needs headers on every PUT that this door's clients do not send: use API v1",
                can.family
            )));
        }
        if self
            .config
            .encryption(req.profile.as_deref().unwrap_or(DEFAULT_PROFILE))
            .is_some()
        {
            return Err(UploadError::NotPermitted(
                "this profile's uploads carry encryption headers a plain PUT does not send: use API v1".into(),
            ));
        }
        let max_single = self.store.part_limits().max_single;
        if req.size > max_single {
            return Err(Invalid::field(
                "size",
                format!(
                    "one PUT takes at most {} ({max_single} bytes) here: send larger files in parts, through API v1",
                    in_binary_units(max_single)
                ),
            )
            .into());
        }
        // Storage checks the type against the signed one byte for byte, and
        // this client sends its own spelling.
        let signed = intake::essence(&req.content_type);
        if signed != req.content_type {
            return Err(Invalid::field(
                "contentType",
                format!("send the type as {signed:?}: a plain PUT must carry exactly the type it was signed for"),
            )
            .into());
        }
        req.method = Some(UploadMethod::Put);
        self.create_declared(user, req, Shape::Single).await
    }

    async fn create_declared(
        &self,
        user: &Principal,
        mut req: CreateUpload,
        shape: Shape,
    ) -> Result<(Upload, UploadInstructions), UploadError> {
        let method = req.method.unwrap_or(UploadMethod::Put);
        self.store_takes(method)?;
        let metadata = req.metadata.take().unwrap_or_default();
        let layout = match self
            .config
            .profiles
            .get(req.profile.as_deref().unwrap_or(DEFAULT_PROFILE))
        {
            Some(profile) if shape == Shape::Planned => {
                plan_parts(profile, &req, &self.store.part_limits())?
            }
            _ => None,
        };
        let intent = Intent {
            profile: req.profile.clone(),
            filename: req.filename,
            content_type: &req.content_type,
            size: Some(req.size),
            checksum_sha256: req.checksum_sha256,
            metadata,
        };
        let how = match (layout, method) {
            (Some(_), _) => Method::Multipart,
            (None, UploadMethod::Put) => Method::Put,
            (None, UploadMethod::Post) => Method::Post,
        };
        let (mut upload, profile, spent) = self.admit(user, intent, how).await?;
        let made = async {
            let instructions = match layout {
                Some(layout) => {
                    self.start_multipart(&mut upload, Some(layout)).await?;
                    UploadInstructions::Multipart {
                        part_size: layout.part_size,
                        part_count: layout.part_count,
                    }
                }
                None => self.presign_single(&upload, method, profile).await?,
            };
            self.record_new(&upload).await?;
            Ok(instructions)
        }
        .await;
        let instructions = self.refund_unless(spent, made).await?;
        Ok((upload, instructions))
    }

    /// Refuses a method the store cannot take (POST forms on Azure) before
    /// anything is spent or recorded.
    fn store_takes(&self, method: UploadMethod) -> Result<(), Invalid> {
        let can = self.store.capabilities();
        if method == UploadMethod::Post && !can.post_forms {
            return Err(Invalid::field(
                "method",
                format!(
                    "{} takes no POST forms: leave method out (or use \"put\")",
                    can.family
                ),
            ));
        }
        Ok(())
    }

    /// Holds a new upload, already held to its caller's credential by its
    /// door (`restrict`), to its profile and its owner's quotas, and spends
    /// it from the token's grant. Nothing is stored yet but the spending,
    /// which the caller refunds if the creation fails.
    async fn admit(
        &self,
        user: &Principal,
        intent: Intent<'_>,
        method: Method,
    ) -> Result<(Upload, &Profile, Option<Spent>), UploadError> {
        let (upload, profile) = intake::accept(&self.config, user, intent, method)?;
        self.check_quota(&upload).await?;
        let spent = self
            .spend(user, upload.size.unwrap_or(upload.reserved))
            .await?;
        Ok((upload, profile, spent))
    }

    /// Companion's `s3/params`: a POST form for a file of undeclared size. The
    /// policy allows 1 byte to the profile's maximum; completion checks and
    /// records the size.
    pub async fn create_form(
        &self,
        user: &Principal,
        mut intent: Intent<'_>,
    ) -> Result<(Upload, PresignedPost), UploadError> {
        self.store_takes(UploadMethod::Post)?;
        Self::restrict(user, &mut intent.profile, &mut intent.metadata)?;
        let (upload, profile, spent) = self.admit(user, intent, Method::Post).await?;
        let made = async {
            let post = self
                .store
                .presign_post(&UploadTarget {
                    key: &upload.staging_key,
                    content_type: &upload.content_type,
                    size: profile.max_size,
                    min_size: 1,
                    checksum_sha256: None,
                    expires_in: profile.url_ttl,
                    sse: profile.encryption().as_ref(),
                })
                .await?;
            self.record_new(&upload).await?;
            Ok(post)
        }
        .await;
        let post = self.refund_unless(spent, made).await?;
        Ok((upload, post))
    }

    /// Companion's `s3/multipart`: a multipart upload whose client chooses
    /// its own part sizes; completion checks their shape instead.
    pub async fn create_client_parts(
        &self,
        user: &Principal,
        mut intent: Intent<'_>,
    ) -> Result<Upload, UploadError> {
        Self::restrict(user, &mut intent.profile, &mut intent.metadata)?;
        let (mut upload, _, spent) = self.admit(user, intent, Method::Multipart).await?;
        let made = async {
            self.start_multipart(&mut upload, None).await?;
            self.record_new(&upload).await
        }
        .await;
        self.refund_unless(spent, made).await?;
        Ok(upload)
    }

    /// Starts `upload`'s multipart upload in storage. The upload then lives
    /// `janitor.multipart_ttl`, since its parts may be signed again and again.
    async fn start_multipart(
        &self,
        upload: &mut Upload,
        layout: Option<Layout>,
    ) -> Result<(), UploadError> {
        let sse = self.config.encryption(&upload.profile);
        let upload_id = self
            .store
            .create_multipart(&upload.key, &upload.content_type, sse.as_ref())
            .await?;
        upload.expires_at = upload.created_at + self.config.janitor.multipart_ttl;
        upload.multipart = Some(Multipart { upload_id, layout });
        Ok(())
    }

    /// Stores the record; if that fails, aborts its multipart upload, so storage
    /// keeps nothing that no record refers to.
    async fn record_new(&self, upload: &Upload) -> Result<(), UploadError> {
        let Err(err) = self.db.insert(upload).await else {
            self.metrics.upload(&upload.profile, "created");
            return Ok(());
        };
        if let Some(multipart) = &upload.multipart
            && let Err(abort) = self
                .store
                .abort_multipart(&upload.key, &multipart.upload_id)
                .await
        {
            tracing::warn!(upload = %upload.id, %abort, "could not abort the multipart upload of an unrecorded upload");
        }
        Err(err.into())
    }

    pub(super) async fn presign_single(
        &self,
        upload: &Upload,
        method: UploadMethod,
        profile: &Profile,
    ) -> Result<UploadInstructions, UploadError> {
        let size = upload.size.unwrap_or_default();
        let sse = profile.encryption();
        let target = UploadTarget {
            key: &upload.staging_key,
            content_type: &upload.content_type,
            size,
            min_size: size,
            checksum_sha256: upload.checksum_sha256.as_deref(),
            expires_in: profile.url_ttl,
            sse: sse.as_ref(),
        };
        Ok(match method {
            UploadMethod::Put => {
                let put = self.store.presign_put(&target).await?;
                UploadInstructions::Put {
                    url: put.url,
                    headers: put.headers,
                }
            }
            UploadMethod::Post => {
                let post = self.store.presign_post(&target).await?;
                UploadInstructions::Post {
                    url: post.url,
                    fields: post.fields,
                }
            }
        })
    }
}

/// Whether a declared file may be split into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// In parts above the profile's threshold.
    Planned,
    /// Always in one request.
    Single,
}

/// The part layout when the declared size is over the profile's multipart threshold.
fn plan_parts(
    profile: &Profile,
    req: &CreateUpload,
    limits: &PartLimits,
) -> Result<Option<Layout>, Invalid> {
    if req.size <= profile.multipart_threshold {
        return Ok(None);
    }
    if req.method == Some(UploadMethod::Post) {
        return Err(Invalid::MultipartRequired {
            threshold: profile.multipart_threshold,
        });
    }
    if req.checksum_sha256.is_some() {
        return Err(Invalid::ChecksumPerPart);
    }
    Layout::plan(req.size, profile.part_size, limits)
        .map(Some)
        .map_err(Invalid::NoPartLayout)
}

/// `5 GiB`, `5000 MiB`: a store's limit as its documentation states it.
fn in_binary_units(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    if bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}
