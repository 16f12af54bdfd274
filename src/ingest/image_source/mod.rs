//! Image sources: turns what a user wrote for an image into the image's encoded bytes (JPEG,
//! PNG...), within the limits and permissions of `image_fetch` in the server config.
//!
//! # The forms a value may take, and how they are told apart
//! [`ImageRef::parse`] looks at the (trimmed) string in this order:
//! 1. `data:` → a data URL; only `;base64,` payloads are accepted.
//! 2. `<scheme>://` → a URL. `http` and `https` are fetched, `file://` is read as a file, any
//!    other scheme is refused. Base64 never contains `:`, so this cannot swallow base64.
//! 3. `./` or `../` → a relative path (relative to the server's working directory). `.` is not
//!    a base64 character, so this cannot swallow base64 either.
//! 4. `/` → an absolute path, *unless* the value starts with base64 characters that decode to a
//!    known image signature. Base64 of every JPEG starts with `/9j/` (the bytes `FF D8 FF`), so
//!    a bare "starts with `/`" rule would misread every base64 JPEG as a path; no sensible
//!    image path starts with `/9j/`.
//! 5. Anything else is base64 (standard or URL-safe alphabet, padding optional, whitespace and
//!    newlines ignored). A path such as `images/cat.jpg` therefore fails as invalid base64, and
//!    the error says how paths must be written.
//!
//! # Server-side request forgery
//! Users choose the URLs, so the server must not become their proxy into the private network.
//! Every host is resolved by `CheckedResolver`, the only resolver the HTTP client has: it
//! refuses a host if *any* of its addresses is private, loopback, link-local... (see
//! [`restricted_range`]) unless `image_fetch.allow_private` lists the host or the address.
//! The connection then goes to exactly the addresses that were checked, so a DNS answer that
//! changes between a check and the connection (DNS rebinding) cannot get around it. Redirects
//! are followed by hand, and each hop goes through the same checks. Proxies are disabled, since
//! a proxy would connect on our behalf to addresses we never saw.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
use futures_util::stream::{self, StreamExt};
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Url, redirect};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::config::ImageFetchConfig;

mod address;
mod fetcher;
#[cfg(test)]
mod tests;

use self::address::PrivateAllowList;
pub use self::address::{RestrictedRange, restricted_range};
pub use self::fetcher::ImageFetcher;

/// How many images [`ImageFetcher::fetch_all`] fetches at the same time.
const FETCH_CONCURRENCY: usize = 8;

/// Base64 payloads longer than this are decoded on the blocking pool, so that async code never
/// blocks for more than a fraction of a millisecond.
const INLINE_BASE64_DECODE_MAX_LEN: usize = 64 * 1024;

/// Bytes needed to recognise every supported signature (WebP needs 12).
const SIGNATURE_PREFIX_LEN: usize = 12;

const SUPPORTED_FORMATS: &str = "JPEG, PNG, GIF, WebP, BMP or TIFF";

/// Linux's PATH_MAX: a longer value starting with `/` cannot be a path.
const MAX_PATH_BYTES: usize = 4096;

/// Added to base64 errors of values that were taken for base64 only because they matched no
/// other form, such as `images/cat.jpg`.
const NOT_BASE64_HINT: &str =
    "(if the value is not base64: a URL must start with http:// or https://, a file path with /, ./, ../ or file://)";

/// Why an image could not be had. Every message names what to change.
#[derive(Debug, thiserror::Error)]
pub enum ImageSourceError {
    #[error("image value is empty")]
    EmptyReference,
    #[error("invalid image URL [{reference}]: {reason}")]
    InvalidUrl { reference: String, reason: String },
    #[error("unsupported scheme [{scheme}] in image URL [{url}]; only http and https URLs are fetched")]
    UnsupportedScheme { url: String, scheme: String },
    #[error("invalid image data URL: {reason}")]
    InvalidDataUrl { reason: String },
    #[error("invalid base64 image data: {reason}")]
    InvalidBase64 { reason: String },
    #[error("image larger than the limit of {max_bytes} bytes (image_fetch.max_bytes)")]
    TooLarge { max_bytes: u64 },
    #[error("not an image: {received}; expected {SUPPORTED_FORMATS}")]
    NotAnImage { received: String },
    #[error("image URL [{url}] resolves to a {range} address [{address}]; allow it with image_fetch.allow_private")]
    RestrictedAddress {
        url: String,
        address: IpAddr,
        range: RestrictedRange,
    },
    #[error("cannot resolve the host of image URL [{url}]: {reason}")]
    HostLookup { url: String, reason: String },
    #[error("cannot fetch image URL [{url}]: {reason}")]
    Request { url: String, reason: String },
    #[error("image request timed out after {timeout_ms} ms (image_fetch.timeout_ms)")]
    Timeout { timeout_ms: u64 },
    #[error("too many redirects (more than {max_redirects}) fetching image URL [{url}] (image_fetch.max_redirects)")]
    TooManyRedirects { url: String, max_redirects: usize },
    #[error("HTTP status {status} from [{url}]")]
    HttpStatus { status: u16, url: String },
    #[error(
        "reading image files is not allowed (asked for [{path}]); list the folders that may be read in image_fetch.file_roots"
    )]
    FilesNotAllowed { path: PathBuf },
    #[error("image path [{path}] is outside the allowed folders; add its folder to image_fetch.file_roots")]
    OutsideFileRoots { path: PathBuf },
    #[error("cannot read image file [{path}]: {reason}")]
    FileRead { path: PathBuf, reason: String },
    #[error("invalid image_fetch.allow_private entry [{entry}]: {reason}")]
    InvalidAllowPrivate { entry: String, reason: String },
    #[error("cannot build the image HTTP client: {reason}")]
    Client { reason: String },
    #[error("internal error while reading an image: {reason}")]
    Internal { reason: String },
}

/// What a user wrote for an image, classified (see the module docs for the rule).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ImageRef {
    /// `data:[<media type>];base64,<data>`.
    DataUrl {
        media_type_opt: Option<String>,
        base64: String,
    },
    /// An `http://` or `https://` URL.
    Url(Url),
    /// A `file://` URL or a path starting with `/`, `./` or `../`.
    File(PathBuf),
    /// Base64 of the encoded image.
    Base64(String),
}

impl ImageRef {
    /// Classifies a user-supplied image value. Only the start of the value is inspected;
    /// base64 is validated when it is decoded.
    pub fn parse(reference: &str) -> Result<ImageRef, ImageSourceError> {
        let trimmed = reference.trim();
        if trimmed.is_empty() {
            return Err(ImageSourceError::EmptyReference);
        }
        if starts_with_ignore_ascii_case(trimmed, "data:") {
            return parse_data_url(trimmed);
        }
        if let Some(scheme) = url_scheme(trimmed) {
            return parse_url(trimmed, &scheme);
        }
        let is_relative_path = trimmed.starts_with("./") || trimmed.starts_with("../");
        // Longer than any path the system accepts (PATH_MAX): base64 that starts with '/'.
        let is_absolute_path =
            trimmed.starts_with('/') && trimmed.len() <= MAX_PATH_BYTES && !starts_like_base64_image(trimmed);
        if is_relative_path || is_absolute_path {
            return Ok(ImageRef::File(PathBuf::from(trimmed)));
        }
        Ok(ImageRef::Base64(trimmed.to_string()))
    }
}

impl FromStr for ImageRef {
    type Err = ImageSourceError;

    fn from_str(reference: &str) -> Result<ImageRef, ImageSourceError> {
        ImageRef::parse(reference)
    }
}

impl TryFrom<String> for ImageRef {
    type Error = ImageSourceError;

    fn try_from(reference: String) -> Result<ImageRef, ImageSourceError> {
        ImageRef::parse(&reference)
    }
}

fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Returns the lowercased scheme if `text` starts with `<scheme>://` (RFC 3986 scheme syntax).
fn url_scheme(text: &str) -> Option<String> {
    let (scheme, _rest) = text.split_once("://")?;
    let mut characters = scheme.chars();
    let first_is_letter = characters.next().is_some_and(|first| first.is_ascii_alphabetic());
    let rest_is_valid = characters.all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character));
    (first_is_letter && rest_is_valid).then(|| scheme.to_ascii_lowercase())
}

fn parse_url(text: &str, scheme: &str) -> Result<ImageRef, ImageSourceError> {
    let invalid = |reason: String| ImageSourceError::InvalidUrl {
        reference: text.to_string(),
        reason,
    };
    match scheme {
        "http" | "https" => {
            let url = Url::parse(text).map_err(|error| invalid(error.to_string()))?;
            Ok(ImageRef::Url(url))
        }
        "file" => {
            let url = Url::parse(text).map_err(|error| invalid(error.to_string()))?;
            let path = url
                .to_file_path()
                .map_err(|()| invalid("a file URL must be file:///absolute/path".to_string()))?;
            Ok(ImageRef::File(path))
        }
        other => Err(ImageSourceError::UnsupportedScheme {
            url: text.to_string(),
            scheme: other.to_string(),
        }),
    }
}

/// Parses `data:[<media type>][;<parameter>]*;base64,<payload>` (RFC 2397).
fn parse_data_url(text: &str) -> Result<ImageRef, ImageSourceError> {
    let after_scheme = &text["data:".len()..];
    let Some((header, payload)) = after_scheme.split_once(',') else {
        return Err(ImageSourceError::InvalidDataUrl {
            reason: "missing ',' before the data".to_string(),
        });
    };
    let mut header_parts = header.split(';');
    let media_type = header_parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_base64 = header_parts.any(|parameter| parameter.trim().eq_ignore_ascii_case("base64"));
    if !is_base64 {
        return Err(ImageSourceError::InvalidDataUrl {
            reason: "only base64 data URLs are supported (data:image/png;base64,...)".to_string(),
        });
    }
    let media_type_opt = (!media_type.is_empty()).then_some(media_type);
    Ok(ImageRef::DataUrl {
        media_type_opt,
        base64: payload.to_string(),
    })
}

/// Whether `text` begins with base64 characters that decode to a known image signature.
fn starts_like_base64_image(text: &str) -> bool {
    let prefix: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .take(16)
        .collect();
    let whole_quads_len = prefix.len() / 4 * 4;
    let quads = &prefix[..whole_quads_len];
    let is_base64_alphabet = quads
        .iter()
        .all(|byte| byte.is_ascii_alphanumeric() || b"+/".contains(byte));
    if quads.is_empty() || !is_base64_alphabet {
        return false;
    }
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(quads)
        .is_ok_and(|decoded| sniff_image_format(&decoded).is_some())
}

/// Returns the image format named by the signature at the start of `bytes`, if known.
pub fn sniff_image_format(bytes: &[u8]) -> Option<&'static str> {
    let format = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "jpeg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "png"
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "gif"
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        "webp"
    } else if bytes.starts_with(b"BM") {
        "bmp"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "tiff"
    } else {
        return None;
    };
    Some(format)
}

/// Checks the signature; `subject` says where the bytes came from, for the error message.
fn ensure_image(subject: impl FnOnce() -> String, bytes: &[u8]) -> Result<(), ImageSourceError> {
    if sniff_image_format(bytes).is_some() {
        return Ok(());
    }
    let received = if bytes.is_empty() {
        format!("{} (empty)", subject())
    } else {
        format!("{} starting with {}", subject(), preview_bytes(bytes))
    };
    Err(ImageSourceError::NotAnImage { received })
}

/// The first bytes as quoted text when they are printable ASCII (an error page says more in
/// text than in hex), else as hex.
fn preview_bytes(bytes: &[u8]) -> String {
    let text_head = &bytes[..bytes.len().min(40)];
    let is_text = text_head
        .iter()
        .all(|byte| byte.is_ascii_graphic() || byte.is_ascii_whitespace());
    if is_text {
        let text = String::from_utf8_lossy(text_head);
        return format!("{text:?}");
    }
    let hex: Vec<String> = bytes.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("bytes {}", hex.join(" "))
}

/// Decodes base64 in either alphabet, with or without padding, ignoring ASCII whitespace.
/// The decoded size is computed from the length before anything is allocated.
fn decode_base64(text: &str, max_bytes: u64) -> Result<Vec<u8>, ImageSourceError> {
    let symbol_count = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace() && *byte != b'=')
        .count() as u64;
    let decoded_len = symbol_count * 3 / 4;
    if decoded_len > max_bytes {
        return Err(ImageSourceError::TooLarge { max_bytes });
    }
    let has_url_safe_symbols = text.bytes().any(|byte| byte == b'-' || byte == b'_');
    let has_standard_symbols = text.bytes().any(|byte| byte == b'+' || byte == b'/');
    if has_url_safe_symbols && has_standard_symbols {
        return Err(ImageSourceError::InvalidBase64 {
            reason: "it mixes the standard (+/) and URL-safe (-_) alphabets".to_string(),
        });
    }
    let compact: Vec<u8> = text.bytes().filter(|byte| !byte.is_ascii_whitespace()).collect();
    let engine = if has_url_safe_symbols {
        &URL_SAFE_PAD_INDIFFERENT
    } else {
        &STANDARD_PAD_INDIFFERENT
    };
    engine
        .decode(&compact)
        .map_err(|error| ImageSourceError::InvalidBase64 {
            reason: error.to_string(),
        })
}
