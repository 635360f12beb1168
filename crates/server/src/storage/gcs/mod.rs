//! Google Cloud Storage. So far its V4 signer (`signer`), proven against
//! Google's published conformance cases; the backend that uses it is the
//! rest of issue #34.

pub mod signer;
