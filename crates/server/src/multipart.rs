//! How a large file is cut into parts, within the store's `PartLimits` (S3:
//! at most 10,000 parts of 5 MiB to 5 GiB; Azure: 50,000 blocks of up to
//! 4,000 MiB). All but the last are the same size, because some stores
//! (Cloudflare R2) refuse unequal parts.

use crate::storage::{PartLimits, StoredPart};

const MIB: u64 = 1024 * 1024;
/// What the AWS CLI uses: small enough to retry cheaply, big enough to be few.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub size: u64,
    pub part_size: u64,
    pub part_count: u32,
}

impl Layout {
    /// The layout for `size` bytes, with parts of `preferred` bytes unless
    /// the store's most parts of those are not enough.
    pub fn plan(size: u64, preferred: Option<u64>, limits: &PartLimits) -> Result<Layout, String> {
        if size == 0 {
            return Err("a multipart upload needs at least one byte".into());
        }
        let mut part_size = preferred.unwrap_or(DEFAULT_PART_SIZE).max(limits.min_part);
        let needed = size.div_ceil(u64::from(limits.max_parts));
        if needed > part_size {
            part_size = needed.div_ceil(MIB) * MIB;
        }
        if part_size > limits.max_part {
            return Err(format!(
                "{size} bytes cannot be sent in {} parts of at most {} bytes",
                limits.max_parts, limits.max_part
            ));
        }
        let part_count =
            u32::try_from(size.div_ceil(part_size)).map_err(|_| "too many parts".to_owned())?;
        Ok(Layout {
            size,
            part_size,
            part_count,
        })
    }

    /// The exact length of part `number` (1-based), or `None` outside the layout.
    pub fn part_len(&self, number: u32) -> Option<u64> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let start = u64::from(number - 1) * self.part_size;
        Some(self.part_size.min(self.size - start))
    }
}

/// Reconciles what storage holds with the layout the server recorded: only parts
/// with a number and exact length from the layout count. (Part URLs sign the
/// length, but a store that ignores it, or a part sent through another door,
/// must not slip an odd part into the object.)
pub fn usable_parts<'a>(layout: &Layout, stored: &'a [StoredPart]) -> Vec<&'a StoredPart> {
    stored
        .iter()
        .filter(|part| layout.part_len(part.part_number) == Some(part.size))
        .collect()
}

/// Part numbers of the layout that storage does not hold (usably), ascending.
pub fn missing_parts(layout: &Layout, stored: &[StoredPart]) -> Vec<u32> {
    let usable = usable_parts(layout, stored);
    let mut present = usable.iter().map(|p| p.part_number).peekable();
    let mut missing = Vec::new();
    for number in 1..=layout.part_count {
        if present.next_if_eq(&number).is_none() {
            missing.push(number);
        }
    }
    missing
}

/// For uploads whose client chose the part size (Uppy): parts must be numbered
/// 1..n without gaps, all the same size but the last (which may be smaller),
/// and at least the store's smallest part but the last. `wanted` are the part
/// numbers the client completes with, or all that storage holds.
pub fn check_client_parts<'a>(
    stored: &'a [StoredPart],
    wanted: &[u32],
    limits: &PartLimits,
) -> Result<Vec<&'a StoredPart>, String> {
    let mut parts = Vec::with_capacity(wanted.len());
    for (index, &number) in wanted.iter().enumerate() {
        if usize::try_from(number).ok() != Some(index + 1) {
            return Err(format!(
                "parts must be numbered 1 to n without gaps; found {number} at position {}",
                index + 1
            ));
        }
        let part = stored
            .iter()
            .find(|p| p.part_number == number)
            .ok_or_else(|| format!("part {number} is not in storage"))?;
        parts.push(part);
    }
    let Some((last, rest)) = parts.split_last() else {
        return Err("no parts have been uploaded".into());
    };
    if let Some(first) = rest.first() {
        if first.size < limits.min_part {
            return Err(format!(
                "every part but the last must be at least {} bytes",
                limits.min_part
            ));
        }
        if let Some(odd) = rest.iter().find(|p| p.size != first.size) {
            return Err(format!(
                "part {} differs in size from part 1; all but the last must be equal",
                odd.part_number
            ));
        }
        if last.size > first.size {
            return Err("the last part is larger than the others".into());
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S3: PartLimits = PartLimits::S3;

    fn part(part_number: u32, size: u64) -> StoredPart {
        StoredPart {
            part_number,
            size,
            etag: format!("\"{part_number}\""),
            last_modified: None,
        }
    }

    #[test]
    fn client_chosen_parts_must_be_contiguous_and_even() {
        let stored = [
            part(1, 6 * MIB),
            part(2, 6 * MIB),
            part(3, MIB),
            part(5, MIB),
        ];
        assert_eq!(
            check_client_parts(&stored, &[1, 2, 3], &S3).map(|p| p.len()),
            Ok(3)
        );
        assert!(
            check_client_parts(&stored, &[1, 2, 3, 5], &S3).is_err(),
            "gap"
        );
        assert!(
            check_client_parts(&stored, &[1, 2, 3, 4], &S3).is_err(),
            "absent"
        );
        let uneven = [part(1, 6 * MIB), part(2, 7 * MIB), part(3, MIB)];
        assert!(check_client_parts(&uneven, &[1, 2, 3], &S3).is_err());
        let small = [part(1, MIB), part(2, MIB)];
        assert!(check_client_parts(&small, &[1, 2], &S3).is_err());
        assert_eq!(
            check_client_parts(&small, &[1], &S3).map(|p| p.len()),
            Ok(1)
        );
        assert!(check_client_parts(&small, &[], &S3).is_err());
    }

    #[test]
    fn only_parts_that_fit_the_layout_count() {
        let layout = Layout::plan(12 * MIB, Some(5 * MIB), &S3).expect("fits");
        let stored = [
            part(1, 5 * MIB),
            part(2, 4 * MIB),
            part(3, 2 * MIB),
            part(4, 1),
        ];
        let usable: Vec<u32> = usable_parts(&layout, &stored)
            .iter()
            .map(|p| p.part_number)
            .collect();
        assert_eq!(usable, [1, 3]);
        assert_eq!(missing_parts(&layout, &stored), [2]);
        assert_eq!(missing_parts(&layout, &[]), [1, 2, 3]);
    }

    #[test]
    fn parts_are_equal_but_the_last() {
        let layout = Layout::plan(12 * MIB + 1, Some(5 * MIB), &S3).expect("fits");
        assert_eq!((layout.part_size, layout.part_count), (5 * MIB, 3));
        assert_eq!(layout.part_len(1), Some(5 * MIB));
        assert_eq!(layout.part_len(3), Some(2 * MIB + 1));
        assert_eq!(layout.part_len(4), None);
        assert_eq!(layout.part_len(0), None);
    }

    #[test]
    fn huge_files_get_bigger_parts_within_ten_thousand() {
        let size = 200 * 1024 * MIB; // 200 GiB
        let layout = Layout::plan(size, None, &S3).expect("fits");
        assert!(layout.part_count <= S3.max_parts);
        assert!(layout.part_size >= S3.min_part && layout.part_size.is_multiple_of(MIB));
        assert_eq!(
            layout.part_size * u64::from(layout.part_count - 1)
                + layout.part_len(layout.part_count).expect("last"),
            size
        );
    }

    #[test]
    fn too_small_parts_are_raised_and_impossible_sizes_refused() {
        assert_eq!(
            Layout::plan(100 * MIB, Some(MIB), &S3)
                .expect("fits")
                .part_size,
            S3.min_part
        );
        assert!(Layout::plan(u64::from(S3.max_parts) * S3.max_part + 1, None, &S3).is_err());
        assert!(Layout::plan(0, None, &S3).is_err());
    }

    #[test]
    fn azure_takes_small_blocks_and_fifty_thousand_of_them() {
        let azure = PartLimits::AZURE;
        assert_eq!(
            Layout::plan(100 * MIB, Some(MIB), &azure)
                .expect("fits")
                .part_size,
            MIB
        );
        // 200 GiB at 8 MiB: 25,600 blocks, over S3's 10,000 but within Azure's 50,000.
        let layout = Layout::plan(200 * 1024 * MIB, None, &azure).expect("fits");
        assert_eq!((layout.part_size, layout.part_count), (8 * MIB, 25_600));
    }
}
