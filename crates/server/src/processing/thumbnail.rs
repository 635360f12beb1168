//! `thumbnail`: smaller versions of an image, fit inside each configured size.
//!
//! Decoding is where images attack: the pixel count is read from the header
//! and checked before a single pixel is decoded, the decoder runs under memory
//! limits, and a decoder that panics costs this one image, never the worker.

use std::io::Cursor;

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use tokio::io::AsyncReadExt as _;
use uploadgate_api::{Processing, Thumbnail};

use super::ProcessError;
use crate::config::ThumbnailsConfig;
use crate::db::Upload;
use crate::keys;
use crate::uploads::Uploads;

/// Bytes per pixel the largest decoded form takes (16-bit RGBA).
const MAX_BYTES_PER_PIXEL: u64 = 8;
const JPEG_QUALITY: u8 = 85;

pub async fn run(
    uploads: &Uploads,
    upload: &Upload,
    processing: &mut Processing,
) -> Result<(), ProcessError> {
    if !upload.content_type.starts_with("image/") {
        return Ok(());
    }
    let settings = uploads.config.thumbnails.clone();
    let mut object = uploads
        .store
        .open(&upload.key)
        .await?
        .ok_or_else(|| ProcessError::Permanent("the object is not in storage".into()))?;
    if object.size > settings.max_input_size {
        processing.notes.push(format!(
            "thumbnail: {} bytes is above thumbnails.max_input_size",
            object.size
        ));
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(object.size).unwrap_or(0));
    (&mut object.body)
        .take(settings.max_input_size + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ProcessError::Retry(format!("reading the object: {e}")))?;

    let made = match tokio::task::spawn_blocking(move || render(&bytes, &settings)).await {
        Ok(Ok(made)) => made,
        Ok(Err(why)) => {
            processing.notes.push(format!("thumbnail: {why}"));
            return Ok(());
        }
        Err(err) if err.is_panic() => {
            processing
                .notes
                .push("thumbnail: the image could not be decoded".into());
            return Ok(());
        }
        Err(err) => return Err(ProcessError::Retry(err.to_string())),
    };
    let sse = uploads.config.encryption(&upload.profile);
    let mut thumbnails = Vec::with_capacity(made.len());
    for rendered in made {
        let key = keys::thumbnail_key(&upload.key, rendered.size, rendered.extension);
        uploads
            .store
            .put(&key, rendered.bytes, rendered.content_type, sse.as_ref())
            .await?;
        thumbnails.push(Thumbnail {
            size: rendered.size,
            width: rendered.width,
            height: rendered.height,
            content_type: rendered.content_type.to_owned(),
            key,
            url: None,
        });
    }
    processing.thumbnails = thumbnails;
    Ok(())
}

/// One encoded thumbnail.
#[derive(Debug)]
pub struct Rendered {
    pub size: u32,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub bytes: Bytes,
}

/// Decodes `image` (within `settings`' limits) and encodes one thumbnail per
/// size; `Err` says why there are none, fit to show the user.
pub fn render(image: &[u8], settings: &ThumbnailsConfig) -> Result<Vec<Rendered>, String> {
    let reader = || {
        ImageReader::new(Cursor::new(image))
            .with_guessed_format()
            .map_err(|e| format!("unreadable image: {e}"))
    };
    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|e| format!("unreadable image header: {e}"))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > settings.max_pixels {
        return Err(format!(
            "{width}x{height} px is above thumbnails.max_pixels ({}); not decoded",
            settings.max_pixels
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(settings.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
    let mut decoder = reader()?;
    decoder.limits(limits);
    let decoded = decoder
        .decode()
        .map_err(|e| format!("the image could not be decoded: {e}"))?;
    settings
        .sizes
        .iter()
        .map(|&size| encode(&decoded, size))
        .collect()
}

fn encode(image: &DynamicImage, size: u32) -> Result<Rendered, String> {
    let fitted = if image.width() <= size && image.height() <= size {
        image.clone()
    } else {
        image.thumbnail(size, size)
    };
    // Transparency needs PNG; everything else is smaller as JPEG.
    let [png, jpg] = keys::THUMBNAIL_EXTENSIONS;
    let (format, content_type, extension, fitted) = if fitted.color().has_alpha() {
        (ImageFormat::Png, "image/png", png, fitted)
    } else {
        (
            ImageFormat::Jpeg,
            "image/jpeg",
            jpg,
            DynamicImage::ImageRgb8(fitted.to_rgb8()),
        )
    };
    let mut out = Cursor::new(Vec::new());
    if format == ImageFormat::Jpeg {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        fitted
            .write_with_encoder(encoder)
            .map_err(|e| format!("encoding a thumbnail: {e}"))?;
    } else {
        fitted
            .write_to(&mut out, format)
            .map_err(|e| format!("encoding a thumbnail: {e}"))?;
    }
    Ok(Rendered {
        size,
        width: fitted.width(),
        height: fitted.height(),
        content_type,
        extension,
        bytes: Bytes::from(out.into_inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            width,
            height,
            image::Rgb([200, 30, 30]),
        ));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    #[test]
    fn thumbnails_fit_inside_each_size_and_keep_the_ratio() {
        let settings = ThumbnailsConfig::default();
        let made = render(&png(1600, 900), &settings).expect("rendered");
        let sizes: Vec<(u32, u32, u32)> =
            made.iter().map(|r| (r.size, r.width, r.height)).collect();
        assert_eq!(sizes, [(200, 200, 113), (800, 800, 450)]);
        assert!(made.iter().all(|r| r.content_type == "image/jpeg"));
    }

    #[test]
    fn small_images_are_not_enlarged() {
        let made = render(&png(120, 80), &ThumbnailsConfig::default()).expect("rendered");
        assert!(made.iter().all(|r| (r.width, r.height) == (120, 80)));
    }

    #[test]
    fn malformed_images_are_refused_not_panicked_on() {
        let mut truncated = png(64, 64);
        truncated.truncate(60);
        assert!(render(&truncated, &ThumbnailsConfig::default()).is_err());
        assert!(render(b"not an image at all", &ThumbnailsConfig::default()).is_err());
    }
}
