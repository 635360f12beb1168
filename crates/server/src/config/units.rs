//! Serde adapters for the human units the config file uses ("10MiB", "15m").

use std::time::Duration;

use serde::{Deserialize, Deserializer, de::Error as _};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Text(String),
}

/// A byte count written as an integer or as text with a unit: `10485760`, `"10MiB"`, `"5 GiB"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|e| format!("invalid size {text:?}: {e} (try e.g. \"10MiB\")"))?;
    Ok(size.as_u64())
}

pub fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match NumberOrText::deserialize(deserializer)? {
        NumberOrText::Number(n) => Ok(n),
        NumberOrText::Text(text) => parse_size(&text).map_err(D::Error::custom),
    }
}

pub fn optional_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    size(deserializer).map(Some)
}

/// `duration`, for a setting that may be left out.
pub fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

/// A duration written as text with a unit (`"15m"`, `"1h 30m"`) or as whole seconds.
pub fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match NumberOrText::deserialize(deserializer)? {
        NumberOrText::Number(secs) => Ok(Duration::from_secs(secs)),
        NumberOrText::Text(text) => humantime::parse_duration(text.trim()).map_err(|e| {
            D::Error::custom(format!("invalid duration {text:?}: {e} (try e.g. \"15m\")"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_units() {
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("5 GiB"), Ok(5 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("ten").is_err());
    }
}
