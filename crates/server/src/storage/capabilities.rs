//! What a store does beyond the core every backend implements, and the shape
//! its multipart uploads must have. Declared by each backend, never faked: a
//! profile or request that needs what the store lacks is refused (at start-up
//! for a profile, with a problem for a request), not silently downgraded.

const MIB: u64 = 1024 * 1024;

/// The optional parts of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A short name for messages: `"S3"`, `"Azure Blob Storage"`.
    pub family: &'static str,
    /// Browser POST forms with a signed policy (S3's POST Object); needed by
    /// `method: "post"` and by Companion's `s3/params`.
    pub post_forms: bool,
    /// Server-side encryption chosen per request (a profile's `sse`).
    pub encryption: bool,
    /// A SHA-256 of the body the store checks, bound into the upload's
    /// signature (`checksumSha256`, and per-part checksums).
    pub signed_checksums: bool,
    /// The upload-id multipart protocol Companion's `s3/multipart` routes speak.
    pub s3_multipart: bool,
    /// `uploadgate bucket setup` can set lifecycle rules through the data
    /// API (Azure's live in the management API, set in the portal or IaC).
    pub lifecycle_rules: bool,
    /// A presigned PUT lands with no header but `Content-Type` (what the
    /// tutorial's client sends); Azure needs `x-ms-blob-type` too.
    pub bare_put: bool,
}

/// How a store's multipart (or block) uploads may be cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLimits {
    /// Smallest part but the last.
    pub min_part: u64,
    pub max_part: u64,
    pub max_parts: u32,
    /// Largest object sent in one request.
    pub max_single: u64,
}

impl PartLimits {
    /// S3: 10,000 parts of 5 MiB to 5 GiB (the last may be smaller); one PUT up to 5 GiB.
    pub const S3: PartLimits = PartLimits {
        min_part: 5 * MIB,
        max_part: 5 * 1024 * MIB,
        max_parts: 10_000,
        max_single: 5 * 1024 * MIB,
    };

    /// Azure block blobs: 50,000 blocks of up to 4,000 MiB, any size; one
    /// Put Blob up to 5,000 MiB.
    pub const AZURE: PartLimits = PartLimits {
        min_part: 1,
        max_part: 4000 * MIB,
        max_parts: 50_000,
        max_single: 5000 * MIB,
    };

    /// GCS, parts composed by the server: any size (a part is an object,
    /// up to 5 TiB), and at most 1,024 of them (the component count GCS
    /// has long allowed a composite object). One PUT up to 5 TiB.
    pub const GCS: PartLimits = PartLimits {
        min_part: 1,
        max_part: 5 * 1024 * 1024 * MIB,
        max_parts: 1024,
        max_single: 5 * 1024 * 1024 * MIB,
    };

    /// Whether parts of `size` bytes (all but the last) are allowed.
    pub fn allows_part(&self, size: u64) -> bool {
        (self.min_part..=self.max_part).contains(&size)
    }
}
