//! Google Cloud Storage. So far: its V4 signer (`signer`), proven against
//! Google's published conformance cases, and the server's own OAuth2
//! credentials (`credentials`); the backend that uses them is the rest of
//! issue #34.

pub mod credentials;
pub mod signer;
