//! URL and header encodings every backend shares: object keys in URL
//! paths, percent-encoding, and the `Content-Disposition` downloads force.

/// Percent-encodes a key for a URL path, keeping `/` as the separator.
/// Encoding all but RFC 3986 unreserved characters makes the path identical to
/// its SigV4 canonical form (and Azure's), so client and store agree on what was signed.
pub fn encode_key(key: &str) -> String {
    percent_encode(key, b"-._~/")
}

/// Percent-encodes all but ASCII letters, digits and the bytes in `keep`.
pub fn percent_encode(input: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    push_percent_encoded(&mut out, input, keep);
    out
}

pub(crate) fn push_percent_encoded(out: &mut String, input: &str, keep: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

/// Appends `query` (names as given, values percent-encoded) to `url`,
/// which has no query yet.
pub fn push_query(url: &mut String, query: &[(&str, &str)]) {
    for (index, (name, value)) in query.iter().enumerate() {
        url.push(if index == 0 { '?' } else { '&' });
        url.push_str(name);
        url.push('=');
        push_percent_encoded(url, value, b"-._~");
    }
}

/// `Content-Disposition: attachment` with an ASCII fallback and the exact UTF-8 name.
pub fn attachment(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(filename, b"-._~");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_like_their_canonical_form() {
        assert_eq!(
            encode_key("uploads/a~b/x y+z.png"),
            "uploads/a~b/x%20y%2Bz.png"
        );
    }

    #[test]
    fn attachment_names_cannot_break_out_of_the_header() {
        let header = attachment("evil\".html\r\nSet-Cookie: x");
        assert!(!header.contains('\r') && !header.contains('\n'));
        assert!(header.starts_with("attachment; filename=\"evil_.html__Set-Cookie: x\""));
    }
}
