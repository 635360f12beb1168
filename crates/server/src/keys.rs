//! Object keys. The server alone chooses them: a user's filename is kept as a
//! display name and contributes at most a sanitized extension.

use uuid::Uuid;

/// Placeholder in a profile's `key_prefix` replaced by the (escaped) user id.
pub const USER_PLACEHOLDER: &str = "{user}";

/// Where presigned requests write before verification; never served, never promoted
/// without a check. Objects left here by abandoned uploads are safe to expire.
pub const STAGING_PREFIX: &str = "staging/";

/// Where the virus scan moves infected objects; never served.
pub const QUARANTINE_PREFIX: &str = "quarantine/";

/// Longest filename accepted, in bytes (the usual file system limit).
pub const MAX_FILENAME_LEN: usize = 255;
const MAX_EXTENSION_LEN: usize = 10;

/// The final key: the profile's prefix with the escaped user, a random id, the extension.
pub fn object_key(prefix_template: &str, user: &str, id: Uuid, filename: &str) -> String {
    let prefix = prefix_template.replace(USER_PLACEHOLDER, &escape_user(user));
    match extension(filename) {
        Some(ext) => format!("{prefix}{}.{ext}", id.simple()),
        None => format!("{prefix}{}", id.simple()),
    }
}

/// The upload id that ends a key `object_key` or `staging_key` made (before
/// the extension, if any); `None` for any other key. The id is what makes a
/// key unique, so a lookup by key is a lookup by id that compares the key.
pub fn upload_id(key: &str) -> Option<Uuid> {
    let stem = match key.rsplit_once('.') {
        Some((stem, ext))
            if (1..=MAX_EXTENSION_LEN).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            stem
        }
        _ => key,
    };
    let hex = stem.get(stem.len().checked_sub(32)?..)?;
    if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Uuid::try_parse(hex)
        .ok()
        .filter(|id| id.get_version_num() == 7)
}

pub fn quarantine_key(id: Uuid) -> String {
    format!("{QUARANTINE_PREFIX}{}", id.simple())
}

/// The extensions thumbnails are written with: PNG keeps transparency,
/// JPEG is smaller for the rest.
pub const THUMBNAIL_EXTENSIONS: [&str; 2] = ["png", "jpg"];

/// Every key a thumbnail of `original` at one of `sizes` may have been
/// written to: what deleting the original must remove, whether or not a
/// thumbnail job got to record it.
pub fn thumbnail_keys(original: &str, sizes: &[u32]) -> Vec<String> {
    sizes
        .iter()
        .flat_map(|&size| {
            THUMBNAIL_EXTENSIONS
                .iter()
                .map(move |ext| thumbnail_key(original, size, ext))
        })
        .collect()
}

/// Where the thumbnail of bounding size `size` goes: next to the original,
/// under the same id, so it stays in the owner's prefix.
pub fn thumbnail_key(original: &str, size: u32, extension: &str) -> String {
    let stem = original
        .rsplit_once('/')
        .map_or(original, |(_, name)| name)
        .split('.')
        .next()
        .unwrap_or_default();
    let dir = original.rsplit_once('/').map_or("", |(dir, _)| dir);
    if dir.is_empty() {
        format!("{stem}.thumb-{size}.{extension}")
    } else {
        format!("{dir}/{stem}.thumb-{size}.{extension}")
    }
}

pub fn staging_key(id: Uuid) -> String {
    format!("{STAGING_PREFIX}{}", id.simple())
}

/// A staged piece of upload `id`'s multipart upload `upload_id`, on a store
/// whose parts are objects of their own (GCS): `piece` names the part or
/// the partial composition. The upload id ends the key, so `upload_id`
/// reads it, and `upload_id` after the prefix lists one upload's pieces.
pub fn staged_piece_key(id: Uuid, upload_id: &str, piece: &str) -> String {
    format!(
        "{}-{piece}-{}",
        staged_pieces_prefix(upload_id),
        id.simple()
    )
}

/// What every piece of multipart upload `upload_id` starts with.
pub fn staged_pieces_prefix(upload_id: &str) -> String {
    format!("{STAGING_PREFIX}{upload_id}")
}

/// The multipart upload id and the piece `key` names, if it is a staged
/// piece (see `staged_piece_key`) of upload `id`.
pub fn staged_piece_of(key: &str, id: Uuid) -> Option<(&str, &str)> {
    let rest = key
        .strip_prefix(STAGING_PREFIX)?
        .strip_suffix(id.simple().to_string().as_str())?
        .strip_suffix('-')?;
    rest.split_once('-')
        .filter(|(upload_id, piece)| !upload_id.is_empty() && !piece.is_empty())
}

/// Whether `key` is a staged piece of upload `id`.
pub fn is_staged_piece_of(key: &str, id: Uuid) -> bool {
    staged_piece_of(key, id).is_some()
}

/// Makes a user id safe as one key segment, injectively: letters, digits, `-` and
/// `_` stay, every other byte becomes `~XX`. So `a/b`, `..` and `a~2Fb` all get
/// distinct segments that contain no `/` and are never `.` or `..`.
pub fn escape_user(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for byte in user.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("~{byte:02X}"));
        }
    }
    out
}

/// The lowercase extension of `filename` when it is short and alphanumeric.
pub fn extension(filename: &str) -> Option<String> {
    let (stem, ext) = filename.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() || ext.len() > MAX_EXTENSION_LEN {
        return None;
    }
    ext.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then(|| ext.to_ascii_lowercase())
}

/// A filename is a display name: a single non-empty path component, printable.
pub fn check_filename(filename: &str) -> Result<(), String> {
    if filename.trim().is_empty() {
        return Err("filename must not be empty".into());
    }
    if filename.len() > MAX_FILENAME_LEN {
        return Err(format!("filename must be at most {MAX_FILENAME_LEN} bytes"));
    }
    if filename.chars().any(char::is_control) {
        return Err("filename must not contain control characters".into());
    }
    if filename.contains(['/', '\\']) || filename == "." || filename == ".." {
        return Err("filename must be a bare file name, not a path".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_pieces_name_their_upload_and_no_other() {
        let id = Uuid::now_v7();
        let piece = staged_piece_key(id, "0123456789abcdef", "00007");
        assert_eq!(upload_id(&piece), Some(id));
        assert!(piece.starts_with(&staged_pieces_prefix("0123456789abcdef")));
        assert!(is_staged_piece_of(&piece, id));
        assert!(
            !is_staged_piece_of(&staging_key(id), id),
            "the staging object itself"
        );
        assert!(
            !is_staged_piece_of(&piece, Uuid::now_v7()),
            "another upload's"
        );
    }

    #[test]
    fn upload_ids_are_read_back_from_keys_and_only_from_ours() {
        let id = Uuid::now_v7();
        for key in [
            object_key("uploads/{user}/", "a/b", id, "x.PNG"),
            object_key("{user}/", "bob", id, "noext"),
            object_key("{user}.v2/avatar-", "bob", id, "me.jpeg"),
            object_key("a.b/{user}/", "bob", id, "noext"),
            staging_key(id),
        ] {
            assert_eq!(upload_id(&key), Some(id), "{key}");
        }
        for key in [
            "other-app/backup.tar".to_owned(),
            format!("v4/{}", Uuid::new_v4().simple()),
            format!("dashed/{id}.png"),
            format!("upper/{}", id.simple().to_string().to_uppercase()),
            thumbnail_key(&object_key("{user}/", "bob", id, "x.png"), 256, "webp"),
            "short".to_owned(),
            "é".repeat(40),
        ] {
            assert_eq!(upload_id(&key), None, "{key}");
        }
    }

    #[test]
    fn keys_keep_only_a_clean_extension() {
        let id = Uuid::nil();
        assert_eq!(
            object_key("uploads/{user}/", "alice", id, "Holiday.JPG"),
            "uploads/alice/00000000000000000000000000000000.jpg"
        );
        assert_eq!(
            object_key("uploads/{user}/", "alice", id, "x.p/hp"),
            "uploads/alice/00000000000000000000000000000000"
        );
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("a.tar.gz").as_deref(), Some("gz"));
    }

    #[test]
    fn user_escaping_is_injective_and_stays_in_one_segment() {
        let users = ["a/b", "a~2Fb", "..", ".", "a_b", "a.b", "ä", "~"];
        let escaped: Vec<String> = users.iter().map(|u| escape_user(u)).collect();
        for (i, e) in escaped.iter().enumerate() {
            assert!(!e.contains('/') && e != "." && e != "..", "{e}");
            assert!(
                escaped[i + 1..].iter().all(|other| other != e),
                "{e} collides"
            );
        }
    }

    #[test]
    fn keys_never_leave_the_user_prefix() {
        let id = Uuid::now_v7();
        for (user, filename) in [
            ("../../admin", "../../etc/passwd"),
            ("alice/../bob", "x.png"),
            ("alice", "..\\..\\x.png"),
            ("bob", "%2e%2e%2fx.png"),
        ] {
            let key = object_key("uploads/{user}/", user, id, filename);
            let prefix = format!("uploads/{}/", escape_user(user));
            assert!(key.starts_with(&prefix), "{key}");
            assert!(!key[prefix.len()..].contains('/'), "{key}");
            assert!(key.split('/').all(|seg| seg != ".." && seg != "."), "{key}");
        }
    }

    proptest::proptest! {
        /// Whatever the user id and filename, the key stays one segment under the
        /// user's own prefix, and no two users share a prefix.
        #[test]
        fn no_key_escapes_its_users_prefix(user in "\\PC{1,40}", other in "\\PC{1,40}", filename in "\\PC{0,80}") {
            let key = object_key("uploads/{user}/", &user, Uuid::now_v7(), &filename);
            let prefix = format!("uploads/{}/", escape_user(&user));
            proptest::prop_assert!(key.starts_with(&prefix));
            proptest::prop_assert!(!key[prefix.len()..].contains('/'));
            proptest::prop_assert!(key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".."));
            if user != other {
                proptest::prop_assert_ne!(escape_user(&user), escape_user(&other));
            }
        }

        /// An accepted filename is one printable path component, within the limit.
        #[test]
        fn accepted_filenames_are_single_components(filename in "\\PC{0,300}|[./\\\\a-z\u{0}-\u{1f}]{0,12}") {
            if check_filename(&filename).is_ok() {
                proptest::prop_assert!(!filename.contains(['/', '\\']));
                proptest::prop_assert!(!filename.chars().any(char::is_control));
                proptest::prop_assert!(filename != "." && filename != "..");
                proptest::prop_assert!(filename.len() <= MAX_FILENAME_LEN);
            }
        }
    }

    #[test]
    fn paths_and_control_characters_are_not_filenames() {
        assert!(check_filename("photo.jpg").is_ok());
        assert!(check_filename("résumé 2026.pdf").is_ok());
        for bad in [
            "", "  ", "../x.png", "a\\b.png", "..", "a\nb.png", "x\0.png",
        ] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
        assert!(check_filename(&"a".repeat(256)).is_err());
    }
}
