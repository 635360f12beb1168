//! `s3s-fs`, answering as S3 does where uploadgate (and its clients) depend on
//! the answer:
//!
//! - A multipart upload that is unknown, completed or aborted is 404
//!   `NoSuchUpload` for every call naming it. `s3s-fs` answers part uploads,
//!   completion and abort with 403 `AccessDenied`, and lists no parts: a client
//!   resuming an upload whose object was already assembled (by a completion
//!   killed before it recorded the outcome) could not tell "finished" from
//!   "refused", and re-sent parts for ever.
//! - Deleting an object also deletes the side files `s3s-fs` keeps beside it
//!   (`.metadata.json`, `.internal.json`), whose names hold the key, so the
//!   owner's id, and whose contents hold the deleted file's MD5.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3s_fs::FileSystem;

pub(super) struct Store {
    fs: FileSystem,
    /// The directory `fs` serves, where it keeps its side files.
    root: PathBuf,
}

impl Store {
    pub(super) fn new(fs: FileSystem, root: PathBuf) -> Self {
        Self { fs, root }
    }

    /// `Ok` when `upload_id` names a multipart upload still open; 404
    /// `NoSuchUpload` otherwise, as S3 answers.
    fn open_upload(&self, upload_id: &str) -> S3Result<()> {
        // s3s-fs's upload ids are UUIDs and it records each open one in this
        // file until the upload is completed or aborted.
        let open = uuid::Uuid::try_parse(upload_id)
            .is_ok_and(|id| self.root.join(format!(".upload-{id}.json")).is_file());
        if open {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchUpload,
                "The specified multipart upload does not exist"
            ))
        }
    }

    /// Removes what `s3s-fs` keeps beside the object `key` of `bucket`.
    async fn remove_side_files(&self, bucket: &str, key: &str) {
        let (bucket, key) = (URL_SAFE_NO_PAD.encode(bucket), URL_SAFE_NO_PAD.encode(key));
        for suffix in ["metadata.json", "internal.json"] {
            let path = self
                .root
                .join(format!(".bucket-{bucket}.object-{key}.{suffix}"));
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    tracing::warn!(%err, "embedded store: cannot remove an object's side file")
                }
            }
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Calls that need nothing beyond what `s3s-fs` does. Written as the methods
/// `async_trait` makes of `async fn`s (it cannot see into a macro's output):
/// `s3s-fs`'s own boxed future is the answer.
macro_rules! forward {
    ($($name:ident($input:ty) -> $output:ty;)*) => {
        $(
            fn $name<'life0, 'async_trait>(
                &'life0 self,
                req: S3Request<$input>,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = S3Result<S3Response<$output>>> + Send + 'async_trait>,
            >
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                self.fs.$name(req)
            }
        )*
    };
}

#[async_trait::async_trait]
impl S3 for Store {
    forward! {
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
        delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        get_object(GetObjectInput) -> GetObjectOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        head_object(HeadObjectInput) -> HeadObjectOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        put_object(PutObjectInput) -> PutObjectOutput;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let deleted = self.fs.delete_object(req).await?;
        self.remove_side_files(&bucket, &key).await;
        Ok(deleted)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let deleted = self.fs.delete_objects(req).await?;
        for object in deleted.output.deleted.iter().flatten() {
            if let Some(key) = &object.key {
                self.remove_side_files(&bucket, key).await;
            }
        }
        Ok(deleted)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.open_upload(&req.input.upload_id)?;
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.open_upload(&req.input.upload_id)?;
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.open_upload(&req.input.upload_id)?;
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.open_upload(&req.input.upload_id)?;
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.open_upload(&req.input.upload_id)?;
        self.fs.abort_multipart_upload(req).await
    }
}
