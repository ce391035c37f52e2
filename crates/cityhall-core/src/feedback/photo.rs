//! Photos of a report are published: before storing, everything but the picture goes —
//! EXIF (GPS position, camera, owner), XMP, IPTC, comments and text chunks. Colour profiles
//! stay, so the picture looks the same.

use img_parts::{jpeg, png, webp, Bytes, ImageEXIF};

use crate::blob::{sniff, FileType};

/// Why a photo was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("not a JPEG, PNG or WebP picture")]
    NotAPhoto,
    #[error("the picture is damaged")]
    Damaged,
}

/// The picture without its metadata, and its type (decided from the content).
pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, FileType), PhotoError> {
    let kind = sniff(bytes).ok_or(PhotoError::NotAPhoto)?;
    let b = Bytes::copy_from_slice(bytes);
    let out = match kind {
        FileType::Jpeg => {
            let mut j = jpeg::Jpeg::from_bytes(b).map_err(|_| PhotoError::Damaged)?;
            // APP1: EXIF and XMP; APP12/APP13: Ducky and Photoshop IRB (IPTC); COM: comments.
            for m in [
                jpeg::markers::APP1,
                jpeg::markers::APP12,
                jpeg::markers::APP13,
                jpeg::markers::COM,
            ] {
                j.remove_segments_by_marker(m);
            }
            if !j
                .segments()
                .iter()
                .any(|s| s.marker() == jpeg::markers::SOS)
            {
                return Err(PhotoError::Damaged);
            }
            j.encoder().bytes()
        }
        FileType::Png => {
            let mut p = png::Png::from_bytes(b).map_err(|_| PhotoError::Damaged)?;
            for t in [*b"eXIf", *b"tEXt", *b"iTXt", *b"zTXt", *b"tIME"] {
                p.remove_chunks_by_type(t);
            }
            if !p.chunks().iter().any(|c| c.kind() == *b"IDAT") {
                return Err(PhotoError::Damaged);
            }
            p.encoder().bytes()
        }
        FileType::Webp => {
            let mut w = webp::WebP::from_bytes(b).map_err(|_| PhotoError::Damaged)?;
            w.remove_chunks_by_id(webp::CHUNK_XMP);
            // Also recomputes the VP8X flags for what is left.
            w.set_exif(None);
            w.encoder().bytes()
        }
        FileType::Pdf => return Err(PhotoError::NotAPhoto),
    };
    Ok((out.to_vec(), kind))
}
