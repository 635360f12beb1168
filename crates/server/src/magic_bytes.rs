//! Does what landed look like what was declared? Judged by magic bytes, not names.

/// Bytes read from the start of an object; enough for every signature `infer` knows.
pub const READ_LEN: u64 = 8192;

/// Zip-based formats that a file declared as `application/zip` may turn out to be.
const ZIP_FAMILY: &[&str] = &[
    "application/zip",
    "application/epub+zip",
    "application/java-archive",
    "application/vnd.android.package-archive",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

/// `Ok` when `head` (the object's first bytes) is consistent with `declared`;
/// otherwise the reason, fit to show the user.
pub fn check(declared: &str, head: &[u8]) -> Result<(), String> {
    // "Some bytes" is all this type claims; whether a profile accepts it is its business.
    if declared == "application/octet-stream" {
        return Ok(());
    }
    match infer::get(head) {
        Some(kind) if same_type(declared, kind.mime_type()) => Ok(()),
        Some(kind) => Err(format!(
            "content is {}, not the declared {declared}",
            kind.mime_type()
        )),
        // Types with a known signature must show it.
        None if infer::is_mime_supported(declared) => {
            Err(format!("content does not have the signature of {declared}"))
        }
        None if is_textual(declared) && head.contains(&0) => {
            Err(format!("content is binary, not the declared {declared}"))
        }
        None => Ok(()),
    }
}

fn same_type(declared: &str, detected: &str) -> bool {
    declared == detected
        || matches!((declared, detected), ("image/jpg" | "image/pjpeg", "image/jpeg"))
        || declared == "application/zip" && ZIP_FAMILY.contains(&detected)
        || detected == "application/zip" && ZIP_FAMILY.contains(&declared)
        // `infer` calls any XML document text/xml.
        || detected == "text/xml" && (declared.ends_with("+xml") || declared == "application/xml")
}

fn is_textual(declared: &str) -> bool {
    declared.starts_with("text/")
        || declared == "application/json"
        || declared.ends_with("+json")
        || declared.ends_with("+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn matching_signatures_pass() {
        assert_eq!(check("image/png", PNG), Ok(()));
        assert_eq!(check("application/pdf", PDF), Ok(()));
        assert_eq!(check("image/jpg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"), Ok(()));
        assert_eq!(check("text/plain", b"hello"), Ok(()));
        assert_eq!(check("application/octet-stream", b"\x00\x01\x02"), Ok(()));
        assert_eq!(check("application/octet-stream", PDF), Ok(()));
    }

    #[test]
    fn spoofed_types_are_caught() {
        assert!(check("image/png", PDF).is_err());
        assert!(check("image/png", b"<html><script>alert(1)</script>").is_err());
        assert!(check("application/pdf", b"just text").is_err());
        assert!(check("text/plain", b"MZ\x90\0\x03\0\0\0").is_err());
        assert!(check("text/csv", b"a,b\0c").is_err());
    }
}
