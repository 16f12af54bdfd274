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

/// Why an address is not fetched unless `image_fetch.allow_private` allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictedRange {
    /// 10/8, 172.16/12, 192.168/16, IPv6 site-local fec0::/10, local NAT64 64:ff9b:1::/48.
    Private,
    /// 127/8, ::1.
    Loopback,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 0/8 ("this network"), ::.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// fc00::/7.
    UniqueLocal,
    /// 100.64/10 (carrier-grade NAT).
    SharedAddressSpace,
    /// 255.255.255.255.
    Broadcast,
    /// Special-purpose ranges (240/4, benchmarking, documentation, protocol assignments, Teredo,
    /// and IPv6 outside 2000::/3), which no public image server uses.
    Reserved,
}

impl fmt::Display for RestrictedRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self {
            RestrictedRange::Private => "private",
            RestrictedRange::Loopback => "loopback",
            RestrictedRange::LinkLocal => "link-local",
            RestrictedRange::Unspecified => "unspecified",
            RestrictedRange::Multicast => "multicast",
            RestrictedRange::UniqueLocal => "unique-local",
            RestrictedRange::SharedAddressSpace => "shared (carrier-grade NAT)",
            RestrictedRange::Broadcast => "broadcast",
            RestrictedRange::Reserved => "reserved",
        };
        formatter.write_str(label)
    }
}

/// Returns the range that makes `address` off limits by default, or `None` for a public
/// address. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged
/// by the IPv4 address they reach.
pub fn restricted_range(address: IpAddr) -> Option<RestrictedRange> {
    match address {
        IpAddr::V4(ipv4) => restricted_ipv4_range(ipv4),
        IpAddr::V6(ipv6) => restricted_ipv6_range(ipv6),
    }
}

fn restricted_ipv4_range(address: Ipv4Addr) -> Option<RestrictedRange> {
    let [first, second, third, _fourth] = address.octets();
    let range = if first == 0 {
        RestrictedRange::Unspecified
    } else if address.is_loopback() {
        RestrictedRange::Loopback
    } else if address.is_private() {
        RestrictedRange::Private
    } else if address.is_link_local() {
        RestrictedRange::LinkLocal
    } else if first == 100 && (second & 0b1100_0000) == 64 {
        RestrictedRange::SharedAddressSpace
    } else if address.is_broadcast() {
        RestrictedRange::Broadcast
    } else if address.is_multicast() {
        RestrictedRange::Multicast
    } else if first >= 240
        || (first == 192 && second == 0 && (third == 0 || third == 2))
        || (first == 198 && (second & 0xFE) == 18)
        || (first == 198 && second == 51 && third == 100)
        || (first == 203 && second == 0 && third == 113)
    {
        RestrictedRange::Reserved
    } else {
        return None;
    };
    Some(range)
}

fn restricted_ipv6_range(address: Ipv6Addr) -> Option<RestrictedRange> {
    if let Some(embedded) = embedded_ipv4(address) {
        return restricted_ipv4_range(embedded);
    }
    let segments = address.segments();
    let range = if address.is_unspecified() {
        RestrictedRange::Unspecified
    } else if address.is_loopback() {
        RestrictedRange::Loopback
    } else if (segments[0] & 0xFE00) == 0xFC00 {
        RestrictedRange::UniqueLocal
    } else if (segments[0] & 0xFFC0) == 0xFE80 {
        RestrictedRange::LinkLocal
    } else if (segments[0] & 0xFFC0) == 0xFEC0 {
        RestrictedRange::Private
    } else if (segments[0] & 0xFF00) == 0xFF00 {
        RestrictedRange::Multicast
    } else if segments[0] == 0x64 && segments[1] == 0xFF9B && segments[2] == 1 {
        RestrictedRange::Private
    } else if (segments[0] & 0xE000) != 0x2000
        || (segments[0] == 0x2001 && segments[1] == 0x0DB8)
        || (segments[0] == 0x2001 && segments[1] == 0)
    {
        // Outside global unicast, documentation, or Teredo (which tunnels to an IPv4 address
        // we cannot see).
        RestrictedRange::Reserved
    } else {
        return None;
    };
    Some(range)
}

/// The IPv4 address an IPv6 address reaches, for the forms that embed one.
fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let low_ipv4 = || Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7]));
    let mapped = segments[..5] == [0; 5] && segments[5] == 0xFFFF;
    let translated = segments[..4] == [0; 4] && segments[4] == 0xFFFF && segments[5] == 0;
    // ::a.b.c.d (deprecated "compatible"); :: and ::1 have a zero seventh segment.
    let compatible = segments[..6] == [0; 6] && segments[6] != 0;
    let nat64 = segments[0] == 0x64 && segments[1] == 0xFF9B && segments[2..6] == [0; 4];
    if mapped || translated || compatible || nat64 {
        return Some(low_ipv4());
    }
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::from((u32::from(segments[1]) << 16) | u32::from(segments[2])));
    }
    None
}

/// `image_fetch.allow_private`: host names (`*.example.com` for subdomains), addresses and CIDRs.
#[derive(Debug, Clone, Default)]
struct PrivateAllowList {
    networks: Vec<IpNet>,
    hosts: Vec<String>,
    /// Suffixes from `*.example.com` entries, stored as `.example.com`.
    host_suffixes: Vec<String>,
}

impl PrivateAllowList {
    fn parse(entries: &[String]) -> Result<PrivateAllowList, ImageSourceError> {
        let mut allow_list = PrivateAllowList::default();
        for entry in entries {
            let invalid = |reason: &str| ImageSourceError::InvalidAllowPrivate {
                entry: entry.clone(),
                reason: reason.to_string(),
            };
            let trimmed = entry.trim();
            let unbracketed = trimmed.trim_start_matches('[').trim_end_matches(']');
            if let Ok(network) = IpNet::from_str(trimmed) {
                allow_list.networks.push(network.trunc());
            } else if let Ok(address) = IpAddr::from_str(unbracketed) {
                allow_list.networks.push(IpNet::from(address));
            } else if trimmed.contains('/') {
                return Err(invalid("not a valid CIDR range"));
            } else {
                let host = normalize_host(trimmed);
                let (is_wildcard, name) = match host.strip_prefix("*.") {
                    Some(suffix) => (true, suffix.to_string()),
                    None => (false, host),
                };
                let is_valid_name = !name.is_empty()
                    && name
                        .chars()
                        .all(|character| character.is_ascii_alphanumeric() || "-._".contains(character));
                if !is_valid_name {
                    return Err(invalid("expected a host name, an IP address or a CIDR range"));
                }
                if is_wildcard {
                    allow_list.host_suffixes.push(format!(".{name}"));
                } else {
                    allow_list.hosts.push(name);
                }
            }
        }
        Ok(allow_list)
    }

    fn allows_host(&self, host: &str) -> bool {
        let normalized_host = normalize_host(host);
        self.hosts.contains(&normalized_host)
            || self
                .host_suffixes
                .iter()
                .any(|suffix| normalized_host.ends_with(suffix.as_str()))
    }

    fn allows_address(&self, address: IpAddr) -> bool {
        let embedded_opt = match address {
            IpAddr::V6(ipv6) => embedded_ipv4(ipv6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.networks.iter().any(|network| {
            network.contains(&address) || embedded_opt.is_some_and(|embedded| network.contains(&embedded))
        })
    }

    /// Returns the first address that is restricted and not allowed, with its range.
    fn first_refused<'a>(
        &self,
        host: &str,
        addresses: impl IntoIterator<Item = &'a IpAddr>,
    ) -> Option<(IpAddr, RestrictedRange)> {
        if self.allows_host(host) {
            return None;
        }
        addresses.into_iter().find_map(|address| {
            let range = restricted_range(*address)?;
            (!self.allows_address(*address)).then_some((*address, range))
        })
    }
}

fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Why `CheckedResolver` gave no addresses; found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
enum ResolveRefusal {
    #[error("host resolves to a {range} address [{address}]")]
    Restricted { address: IpAddr, range: RestrictedRange },
    #[error("{reason}")]
    Lookup { reason: String },
}

/// The HTTP client's only resolver: resolves with the system resolver and refuses a host if
/// any of its addresses is restricted, so connections go only to checked addresses.
#[derive(Debug)]
struct CheckedResolver {
    allow_list: Arc<PrivateAllowList>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_list = Arc::clone(&self.allow_list);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let socket_addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| ResolveRefusal::Lookup {
                    reason: error.to_string(),
                })?
                .collect();
            if socket_addresses.is_empty() {
                let reason = "the host has no addresses".to_string();
                return Err(Box::new(ResolveRefusal::Lookup { reason }) as Box<dyn StdError + Send + Sync>);
            }
            let addresses: Vec<IpAddr> = socket_addresses.iter().map(SocketAddr::ip).collect();
            if let Some((address, range)) = allow_list.first_refused(&host, &addresses) {
                return Err(Box::new(ResolveRefusal::Restricted { address, range }) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(socket_addresses.into_iter()) as Addrs)
        })
    }
}

/// Fetches, decodes or reads images within `image_fetch` limits. Cheap to clone; build one per
/// server and share it so HTTP connections are pooled.
#[derive(Debug, Clone)]
pub struct ImageFetcher {
    client: reqwest::Client,
    allow_list: Arc<PrivateAllowList>,
    file_roots: Vec<PathBuf>,
    timeout_ms: u64,
    max_bytes: u64,
    max_redirects: usize,
}

impl ImageFetcher {
    /// Builds the fetcher; fails on an `allow_private` entry that is not a host, address or CIDR.
    pub fn new(config: &ImageFetchConfig) -> Result<ImageFetcher, ImageSourceError> {
        let ImageFetchConfig {
            timeout_ms,
            max_bytes,
            max_redirects,
            allow_private,
            file_roots,
            // Decoded size is checked where images are decoded.
            max_pixels: _,
        } = config;
        let allow_list = Arc::new(PrivateAllowList::parse(allow_private)?);
        let resolver = Arc::new(CheckedResolver {
            allow_list: Arc::clone(&allow_list),
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirect::Policy::none())
            .referer(false)
            .dns_resolver(resolver)
            .user_agent(concat!("iris/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ImageSourceError::Client {
                reason: error_chain(&error),
            })?;
        Ok(ImageFetcher {
            client,
            allow_list,
            file_roots: file_roots.clone(),
            timeout_ms: *timeout_ms,
            max_bytes: *max_bytes,
            max_redirects: *max_redirects,
        })
    }

    /// Returns the encoded bytes of the image `reference` names (any form [`ImageRef::parse`]
    /// accepts), checked to start with a known image signature.
    pub async fn fetch(&self, reference: &str) -> Result<Vec<u8>, ImageSourceError> {
        let image_ref = ImageRef::parse(reference)?;
        self.fetch_ref(image_ref).await
    }

    /// Like [`ImageFetcher::fetch`] for many values, at most `FETCH_CONCURRENCY` (8) at a time;
    /// results are in the order of `references`.
    pub async fn fetch_all(&self, references: &[String]) -> Vec<Result<Vec<u8>, ImageSourceError>> {
        // The futures are built up front: a `.map(|reference| self.fetch(reference))` stream
        // has a higher-ranked closure type for which rustc cannot prove `Send`, which would
        // make callers' futures non-`Send` (rust-lang/rust#102211).
        let fetches: Vec<_> = references.iter().map(|reference| self.fetch(reference)).collect();
        stream::iter(fetches).buffered(FETCH_CONCURRENCY).collect().await
    }

    /// Returns the encoded bytes of an already classified image value.
    pub async fn fetch_ref(&self, image_ref: ImageRef) -> Result<Vec<u8>, ImageSourceError> {
        match image_ref {
            ImageRef::DataUrl { media_type_opt, base64 } => {
                let subject = match media_type_opt {
                    Some(media_type) => format!("the data URL ({media_type}) decodes to data"),
                    None => "the data URL decodes to data".to_string(),
                };
                self.decode_base64_image(base64, subject).await
            }
            ImageRef::Base64(base64) => {
                let subject = "the base64 value decodes to data".to_string();
                let decoded = self.decode_base64_image(base64, subject).await;
                decoded.map_err(|error| match error {
                    ImageSourceError::InvalidBase64 { reason } => ImageSourceError::InvalidBase64 {
                        reason: format!("{reason} {NOT_BASE64_HINT}"),
                    },
                    other => other,
                })
            }
            ImageRef::Url(url) => self.fetch_url(url).await,
            ImageRef::File(path) => self.read_file(&path).await,
        }
    }

    async fn decode_base64_image(&self, base64: String, subject: String) -> Result<Vec<u8>, ImageSourceError> {
        let max_bytes = self.max_bytes;
        let decode_inline = base64.len() <= INLINE_BASE64_DECODE_MAX_LEN;
        let decode_and_check = move || {
            let bytes = decode_base64(&base64, max_bytes)?;
            ensure_image(|| subject, &bytes)?;
            Ok(bytes)
        };
        if decode_inline {
            return decode_and_check();
        }
        tokio::task::spawn_blocking(decode_and_check)
            .await
            .map_err(|error| ImageSourceError::Internal {
                reason: format!("base64 decoding stopped: {error}"),
            })?
    }

    async fn fetch_url(&self, url: Url) -> Result<Vec<u8>, ImageSourceError> {
        let timeout = Duration::from_millis(self.timeout_ms);
        match tokio::time::timeout(timeout, self.fetch_url_following_redirects(url)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(ImageSourceError::Timeout {
                timeout_ms: self.timeout_ms,
            }),
        }
    }

    async fn fetch_url_following_redirects(&self, original_url: Url) -> Result<Vec<u8>, ImageSourceError> {
        let mut current_url = original_url;
        let mut redirects_followed = 0_usize;
        loop {
            self.check_url_target(&current_url)?;
            let response = self
                .client
                .get(current_url.clone())
                .header(ACCEPT, "image/*")
                .send()
                .await
                .map_err(|error| request_error(&current_url, &error))?;
            let status = response.status();
            let location_opt = response.headers().get(LOCATION).cloned();
            if let (true, Some(location)) = (status.is_redirection(), location_opt) {
                if redirects_followed >= self.max_redirects {
                    return Err(ImageSourceError::TooManyRedirects {
                        url: current_url.to_string(),
                        max_redirects: self.max_redirects,
                    });
                }
                let location_text = location.to_str().map_err(|_| ImageSourceError::InvalidUrl {
                    reference: format!("{location:?}"),
                    reason: format!("redirect from [{current_url}] has a Location that is not text"),
                })?;
                let next_url = current_url
                    .join(location_text)
                    .map_err(|error| ImageSourceError::InvalidUrl {
                        reference: location_text.to_string(),
                        reason: format!("bad redirect from [{current_url}]: {error}"),
                    })?;
                redirects_followed += 1;
                current_url = next_url;
                continue;
            }
            if !status.is_success() {
                return Err(ImageSourceError::HttpStatus {
                    status: status.as_u16(),
                    url: current_url.to_string(),
                });
            }
            return self.read_body(&current_url, response).await;
        }
    }

    /// Checks what can be checked before connecting: the scheme, and a literal IP host
    /// (which the client connects to without asking the resolver).
    fn check_url_target(&self, url: &Url) -> Result<(), ImageSourceError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ImageSourceError::UnsupportedScheme {
                url: url.to_string(),
                scheme: url.scheme().to_string(),
            });
        }
        let Some(host) = url.host_str() else {
            return Err(ImageSourceError::InvalidUrl {
                reference: url.to_string(),
                reason: "the URL has no host".to_string(),
            });
        };
        // The URL parser normalises every IPv4 spelling (decimal, octal...) to dotted form and
        // puts IPv6 in brackets, so anything that does not parse here is a domain name.
        let unbracketed_host = host.trim_start_matches('[').trim_end_matches(']');
        let Ok(literal_address) = IpAddr::from_str(unbracketed_host) else {
            return Ok(());
        };
        let refused_opt = self.allow_list.first_refused("", &[literal_address]);
        match refused_opt {
            Some((address, range)) => Err(ImageSourceError::RestrictedAddress {
                url: url.to_string(),
                address,
                range,
            }),
            None => Ok(()),
        }
    }

    /// Reads the body, enforcing the size limit as bytes arrive (a Content-Length header may
    /// be absent or wrong) and giving up as soon as the first bytes are not an image.
    async fn read_body(&self, url: &Url, mut response: reqwest::Response) -> Result<Vec<u8>, ImageSourceError> {
        let max_bytes = self.max_bytes;
        let too_large = ImageSourceError::TooLarge { max_bytes };
        if response.content_length().is_some_and(|announced| announced > max_bytes) {
            return Err(too_large);
        }
        let content_type_opt = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or_default().trim().to_string());
        let subject = || match &content_type_opt {
            Some(content_type) => format!("the URL [{url}] returned {content_type}"),
            None => format!("the URL [{url}] returned data with no Content-Type"),
        };
        let capacity = response.content_length().unwrap_or(0).min(max_bytes);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut signature_checked = false;
        while let Some(chunk) = response.chunk().await.map_err(|error| request_error(url, &error))? {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
            if !signature_checked && body.len() >= SIGNATURE_PREFIX_LEN {
                ensure_image(subject, &body)?;
                signature_checked = true;
            }
        }
        if !signature_checked {
            ensure_image(subject, &body)?;
        }
        Ok(body)
    }

    /// Reads a file that resolves (symlinks included) to inside one of `image_fetch.file_roots`.
    ///
    /// The check and the read are separate steps, so someone able to replace files inside a
    /// root while the server reads could still swap in a symlink; the roots are folders the
    /// operator trusts, and the check is against users naming paths.
    async fn read_file(&self, path: &Path) -> Result<Vec<u8>, ImageSourceError> {
        if self.file_roots.is_empty() {
            return Err(ImageSourceError::FilesNotAllowed {
                path: path.to_path_buf(),
            });
        }
        let outside = || ImageSourceError::OutsideFileRoots {
            path: path.to_path_buf(),
        };
        let read_error = |reason: String| ImageSourceError::FileRead {
            path: path.to_path_buf(),
            reason,
        };
        let roots = self.resolved_file_roots().await;
        let canonical_path = match tokio::fs::canonicalize(path).await {
            Ok(canonical_path) => canonical_path,
            Err(error) => {
                // Say "outside" rather than "not found" for paths outside the roots, so the
                // error cannot be used to probe which files exist elsewhere.
                let lexical_path = lexically_normalize(&std::path::absolute(path).unwrap_or_default());
                let lexically_inside = roots.iter().any(|root| lexical_path.starts_with(root));
                return Err(if lexically_inside {
                    read_error(error.to_string())
                } else {
                    outside()
                });
            }
        };
        if !roots.iter().any(|root| canonical_path.starts_with(root)) {
            return Err(outside());
        }
        // Checked before opening: opening a FIFO would wait for a writer, with no timeout.
        let metadata = tokio::fs::metadata(&canonical_path)
            .await
            .map_err(|error| read_error(error.to_string()))?;
        if !metadata.is_file() {
            return Err(read_error("not a regular file".to_string()));
        }
        if metadata.len() > self.max_bytes {
            return Err(ImageSourceError::TooLarge {
                max_bytes: self.max_bytes,
            });
        }
        let file = tokio::fs::File::open(&canonical_path)
            .await
            .map_err(|error| read_error(error.to_string()))?;
        // The file may grow after the size check; read at most one byte past the limit.
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        file.take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| read_error(error.to_string()))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(ImageSourceError::TooLarge {
                max_bytes: self.max_bytes,
            });
        }
        ensure_image(|| format!("the file [{}] holds data", path.display()), &bytes)?;
        Ok(bytes)
    }

    /// Each configured root as given (made absolute) and with symlinks resolved; roots that
    /// do not exist are kept lexically and simply match nothing that canonicalizes.
    async fn resolved_file_roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::with_capacity(self.file_roots.len() * 2);
        for root in &self.file_roots {
            if let Ok(absolute_root) = std::path::absolute(root) {
                roots.push(lexically_normalize(&absolute_root));
            }
            if let Ok(canonical_root) = tokio::fs::canonicalize(root).await {
                roots.push(canonical_root);
            }
        }
        roots
    }
}

/// Removes `.` and resolves `..` without touching the filesystem (never above the root).
fn lexically_normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normalized.pop();
            }
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => normalized.push(component),
        }
    }
    normalized
}

/// Turns a client error into an [`ImageSourceError`], recovering a refusal from our resolver.
fn request_error(url: &Url, error: &reqwest::Error) -> ImageSourceError {
    let mut source_opt: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(source) = source_opt {
        if let Some(refusal) = source.downcast_ref::<ResolveRefusal>() {
            return match refusal {
                ResolveRefusal::Restricted { address, range } => ImageSourceError::RestrictedAddress {
                    url: url.to_string(),
                    address: *address,
                    range: *range,
                },
                ResolveRefusal::Lookup { reason } => ImageSourceError::HostLookup {
                    url: url.to_string(),
                    reason: reason.clone(),
                },
            };
        }
        source_opt = source.source();
    }
    ImageSourceError::Request {
        url: url.to_string(),
        reason: error_chain(error),
    }
}

/// An error and its causes joined with ": ", since reqwest's top-level message alone is vague.
fn error_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source_opt = error.source();
    while let Some(source) = source_opt {
        let source_message = source.to_string();
        if !message.contains(&source_message) {
            message.push_str(": ");
            message.push_str(&source_message);
        }
        source_opt = source.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// A PNG signature followed by filler: enough for sniffing, which is all this module does.
    const PNG_BYTES: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    const JPEG_BYTES: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9";
    const TEST_MAX_BYTES: u64 = 4096;

    fn config_allowing_loopback() -> ImageFetchConfig {
        ImageFetchConfig {
            timeout_ms: 1_000,
            max_bytes: TEST_MAX_BYTES,
            max_redirects: 3,
            allow_private: vec!["127.0.0.1/32".to_string()],
            file_roots: Vec::new(),
            max_pixels: 1_000_000,
        }
    }

    fn fetcher(config: &ImageFetchConfig) -> ImageFetcher {
        ImageFetcher::new(config).expect("valid config")
    }

    fn ipv4(text: &str) -> IpAddr {
        IpAddr::from_str(text).expect("test address")
    }

    // ---- parsing --------------------------------------------------------------------------

    #[test]
    fn parses_each_reference_form() {
        let data_url = ImageRef::parse("data:image/png;base64,iVBORw0KGgo=").expect("data url");
        assert_eq!(
            data_url,
            ImageRef::DataUrl {
                media_type_opt: Some("image/png".to_string()),
                base64: "iVBORw0KGgo=".to_string()
            }
        );
        let bare_data_url = ImageRef::parse("DATA:;base64,iVBORw0KGgo=").expect("data url without type");
        assert!(matches!(
            bare_data_url,
            ImageRef::DataUrl {
                media_type_opt: None,
                ..
            }
        ));

        let http = ImageRef::parse("  http://example.com/cat.jpg ").expect("http");
        assert!(matches!(&http, ImageRef::Url(url) if url.as_str() == "http://example.com/cat.jpg"));
        let https = ImageRef::parse("HTTPS://Example.com/a%20b.png").expect("https");
        assert!(matches!(&https, ImageRef::Url(url) if url.as_str() == "https://example.com/a%20b.png"));

        assert_eq!(
            ImageRef::parse("file:///srv/images/a%20b.png").expect("file url"),
            ImageRef::File(PathBuf::from("/srv/images/a b.png"))
        );
        assert_eq!(
            ImageRef::parse("/srv/images/cat.jpg").expect("absolute"),
            ImageRef::File(PathBuf::from("/srv/images/cat.jpg"))
        );
        assert_eq!(
            ImageRef::parse("/data/images/abc").expect("absolute made of base64 letters"),
            ImageRef::File(PathBuf::from("/data/images/abc"))
        );
        assert_eq!(
            ImageRef::parse("./cat.jpg").expect("relative"),
            ImageRef::File(PathBuf::from("./cat.jpg"))
        );
        assert_eq!(
            ImageRef::parse("../images/cat.jpg").expect("parent relative"),
            ImageRef::File(PathBuf::from("../images/cat.jpg"))
        );
    }

    #[test]
    fn base64_jpeg_starting_with_a_slash_is_not_a_path() {
        let encoded = STANDARD.encode(JPEG_BYTES);
        assert!(encoded.starts_with("/9j/"));
        assert_eq!(
            ImageRef::parse(&encoded).expect("jpeg base64"),
            ImageRef::Base64(encoded)
        );
        let png_encoded = STANDARD.encode(PNG_BYTES);
        assert!(matches!(ImageRef::parse(&png_encoded), Ok(ImageRef::Base64(_))));
    }

    #[test]
    fn refuses_other_schemes_and_empty_values() {
        let error = ImageRef::parse("ftp://example.com/cat.jpg").expect_err("ftp");
        assert_eq!(
            error.to_string(),
            "unsupported scheme [ftp] in image URL [ftp://example.com/cat.jpg]; only http and https URLs are fetched"
        );
        assert!(matches!(ImageRef::parse("   "), Err(ImageSourceError::EmptyReference)));
        let error = ImageRef::parse("data:image/png,rawbytes").expect_err("not base64");
        assert!(
            error.to_string().contains("only base64 data URLs are supported"),
            "{error}"
        );
        let error = ImageRef::parse("file://server/share/cat.jpg").expect_err("remote file url");
        assert!(error.to_string().starts_with("invalid image URL"), "{error}");
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let parsed: ImageRef = serde_json::from_str(r#""./cat.jpg""#).expect("json");
        assert_eq!(parsed, ImageRef::File(PathBuf::from("./cat.jpg")));
        let error = serde_json::from_str::<ImageRef>(r#""gopher://x/y""#).expect_err("bad scheme");
        assert!(error.to_string().contains("unsupported scheme [gopher]"), "{error}");
    }

    // ---- base64 ---------------------------------------------------------------------------

    #[tokio::test]
    async fn decodes_base64_variants() {
        let image_fetcher = fetcher(&config_allowing_loopback());
        let padded = STANDARD.encode(PNG_BYTES);
        assert!(padded.ends_with('='), "the test wants a padded encoding");
        let unpadded = padded.trim_end_matches('=').to_string();
        let url_safe = URL_SAFE_NO_PAD.encode([PNG_BYTES, &[0xFB, 0xFF]].concat());
        assert!(
            url_safe.contains('-') || url_safe.contains('_'),
            "the test wants URL-safe symbols"
        );
        let wrapped: String = padded
            .as_bytes()
            .chunks(10)
            .map(|line| format!("{}\r\n  ", std::str::from_utf8(line).expect("ascii")))
            .collect();
        for encoded in [&padded, &unpadded, &wrapped] {
            assert_eq!(
                image_fetcher.fetch(encoded).await.expect("decodes"),
                PNG_BYTES,
                "{encoded:?}"
            );
        }
        let url_safe_bytes = image_fetcher.fetch(&url_safe).await.expect("url-safe decodes");
        assert!(url_safe_bytes.starts_with(PNG_BYTES));
        let data_url = format!("data:image/png;base64,{unpadded}");
        assert_eq!(image_fetcher.fetch(&data_url).await.expect("data url"), PNG_BYTES);
    }

    #[tokio::test]
    async fn large_base64_is_decoded_off_the_async_threads() {
        let image_fetcher = fetcher(&ImageFetchConfig {
            max_bytes: 1024 * 1024,
            ..config_allowing_loopback()
        });
        let image = [PNG_BYTES, &vec![7_u8; 200 * 1024]].concat();
        let decoded = image_fetcher.fetch(&STANDARD.encode(&image)).await.expect("decodes");
        assert_eq!(decoded, image);
    }

    #[tokio::test]
    async fn rejects_bad_base64() {
        let image_fetcher = fetcher(&config_allowing_loopback());
        let error = image_fetcher
            .fetch("images/cat.jpg")
            .await
            .expect_err("a path without ./");
        let message = error.to_string();
        assert!(message.starts_with("invalid base64 image data: "), "{message}");
        assert!(message.contains("a file path with /, ./, ../ or file://"), "{message}");
        let error = image_fetcher
            .fetch("data:image/png;base64,!!!!")
            .await
            .expect_err("bad data url");
        assert!(error.to_string().starts_with("invalid base64 image data: "), "{error}");
        assert!(
            !error.to_string().contains("file path"),
            "no path hint for data URLs: {error}"
        );

        let error = image_fetcher.fetch("ab+c-d==").await.expect_err("mixed alphabets");
        assert!(error.to_string().contains("mixes the standard"), "{error}");

        let error = image_fetcher
            .fetch(&STANDARD.encode(b"hello world"))
            .await
            .expect_err("text");
        assert_eq!(
            error.to_string(),
            "not an image: the base64 value decodes to data starting with \"hello world\"; \
             expected JPEG, PNG, GIF, WebP, BMP or TIFF"
        );
        let data_url = format!("data:text/plain;base64,{}", STANDARD.encode([0_u8, 1, 2]));
        let error = image_fetcher.fetch(&data_url).await.expect_err("binary");
        assert!(
            error
                .to_string()
                .contains("the data URL (text/plain) decodes to data starting with bytes 00 01 02"),
            "{error}"
        );
    }

    #[test]
    fn base64_size_is_checked_before_decoding() {
        let encoded = STANDARD.encode(vec![0_u8; 3000]);
        assert!(matches!(
            decode_base64(&encoded, 2999),
            Err(ImageSourceError::TooLarge { max_bytes: 2999 })
        ));
        assert_eq!(decode_base64(&encoded, 3000).expect("at the limit").len(), 3000);
        // Invalid characters are not looked at before the size: the limit is cheap to enforce.
        let huge_garbage = "!".repeat(8000);
        assert!(matches!(
            decode_base64(&huge_garbage, 10),
            Err(ImageSourceError::TooLarge { .. })
        ));
        let message = ImageSourceError::TooLarge { max_bytes: 10 }.to_string();
        assert_eq!(
            message,
            "image larger than the limit of 10 bytes (image_fetch.max_bytes)"
        );
    }

    #[test]
    fn sniffs_every_supported_signature() {
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        let cases: [(&[u8], Option<&str>); 10] = [
            (JPEG_BYTES, Some("jpeg")),
            (PNG_BYTES, Some("png")),
            (b"GIF89a\x01\0", Some("gif")),
            (b"GIF87a\x01\0", Some("gif")),
            (webp, Some("webp")),
            (b"BM\x36\0\0\0", Some("bmp")),
            (b"II*\0\x08\0", Some("tiff")),
            (b"MM\0*\0\0", Some("tiff")),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"<!doctype html>", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff_image_format(bytes), expected, "{bytes:?}");
        }
    }

    // ---- address classification ------------------------------------------------------------

    #[test]
    fn classifies_restricted_addresses() {
        use RestrictedRange::*;
        let cases: &[(&str, Option<RestrictedRange>)] = &[
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("10.0.0.1", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Private)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("100.64.0.1", Some(SharedAddressSpace)),
            ("100.127.255.255", Some(SharedAddressSpace)),
            ("100.128.0.1", None),
            ("100.63.255.255", None),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.1", Some(Reserved)),
            ("198.18.0.1", Some(Reserved)),
            ("203.0.113.9", Some(Reserved)),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd12:3456::1", Some(UniqueLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(Private)),
            ("ff02::1", Some(Multicast)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:100.64.1.1", Some(SharedAddressSpace)),
            ("::ffff:8.8.8.8", None),
            ("::ffff:0:192.168.0.1", Some(Private)),
            ("::127.0.0.1", Some(Loopback)),
            ("64:ff9b::10.0.0.1", Some(Private)),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b:1::1", Some(Private)),
            ("2002:7f00:1::1", Some(Loopback)),
            ("2002:0808:0808::1", None),
            ("2001:db8::1", Some(Reserved)),
            ("2001:0:4136:e378::1", Some(Reserved)),
            ("100::1", Some(Reserved)),
            ("2606:4700:4700::1111", None),
            ("2a00:1450:4001:80e::200e", None),
        ];
        for (address, expected) in cases {
            assert_eq!(restricted_range(ipv4(address)), *expected, "{address}");
        }
    }

    #[test]
    fn allow_list_matches_hosts_addresses_and_ranges() {
        let entries = [
            "127.0.0.1/32",
            "10.1.0.0/16",
            "192.168.7.7",
            "[fd00::5]",
            "images.internal",
            "*.corp.example",
            "Media.LAN.",
        ]
        .map(String::from);
        let allow_list = PrivateAllowList::parse(&entries).expect("valid entries");
        assert!(allow_list.allows_address(ipv4("127.0.0.1")));
        assert!(!allow_list.allows_address(ipv4("127.0.0.2")));
        assert!(allow_list.allows_address(ipv4("10.1.200.3")));
        assert!(!allow_list.allows_address(ipv4("10.2.0.1")));
        assert!(allow_list.allows_address(ipv4("192.168.7.7")));
        assert!(allow_list.allows_address(ipv4("fd00::5")));
        assert!(!allow_list.allows_address(ipv4("fd00::6")));
        assert!(
            allow_list.allows_address(ipv4("::ffff:127.0.0.1")),
            "mapped forms match IPv4 ranges"
        );
        assert!(allow_list.allows_host("images.internal"));
        assert!(allow_list.allows_host("IMAGES.internal."));
        assert!(!allow_list.allows_host("other.internal"));
        assert!(allow_list.allows_host("cdn.corp.example"));
        assert!(!allow_list.allows_host("corp.example"));
        assert!(!allow_list.allows_host("evilcorp.example"));
        assert!(allow_list.allows_host("media.lan"));

        let refused = allow_list.first_refused("nas.home", &[ipv4("8.8.8.8"), ipv4("10.9.0.1")]);
        assert_eq!(
            refused,
            Some((ipv4("10.9.0.1"), RestrictedRange::Private)),
            "every address is checked"
        );
        assert_eq!(allow_list.first_refused("images.internal", &[ipv4("10.9.0.1")]), None);
        assert_eq!(allow_list.first_refused("nas.home", &[ipv4("10.1.0.9")]), None);

        for bad_entry in ["10.0.0.0/33", "not a host", "", "a/b"] {
            let error = PrivateAllowList::parse(&[bad_entry.to_string()]).expect_err(bad_entry);
            assert!(
                error.to_string().starts_with("invalid image_fetch.allow_private entry"),
                "{error}"
            );
        }
        let config = ImageFetchConfig {
            allow_private: vec!["10.0.0.0/99".to_string()],
            ..ImageFetchConfig::default()
        };
        assert!(ImageFetcher::new(&config).is_err());
    }

    // ---- files ----------------------------------------------------------------------------

    struct FileFixture {
        _outside: tempfile::TempDir,
        root: tempfile::TempDir,
        outside_image: PathBuf,
    }

    fn file_fixture() -> FileFixture {
        let root = tempfile::tempdir().expect("root");
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(root.path().join("cat.png"), PNG_BYTES).expect("write");
        std::fs::write(root.path().join("notes.txt"), "hello").expect("write");
        std::fs::write(root.path().join("big.png"), [PNG_BYTES, &[0; 5000]].concat()).expect("write");
        let outside_image = outside.path().join("secret.png");
        std::fs::write(&outside_image, PNG_BYTES).expect("write");
        std::os::unix::fs::symlink(&outside_image, root.path().join("escape.png")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape_dir")).expect("symlink");
        std::fs::create_dir(root.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink(root.path().join("cat.png"), root.path().join("sub/alias.png")).expect("symlink");
        FileFixture {
            _outside: outside,
            root,
            outside_image,
        }
    }

    fn fetcher_with_root(root: &Path) -> ImageFetcher {
        fetcher(&ImageFetchConfig {
            file_roots: vec![root.to_path_buf()],
            ..config_allowing_loopback()
        })
    }

    #[tokio::test]
    async fn files_are_refused_without_file_roots() {
        let fixture = file_fixture();
        let image_fetcher = fetcher(&config_allowing_loopback());
        let path = fixture.root.path().join("cat.png");
        let error = image_fetcher
            .fetch(path.to_str().expect("utf-8"))
            .await
            .expect_err("no roots");
        let message = error.to_string();
        assert!(message.starts_with("reading image files is not allowed"), "{message}");
        assert!(message.contains("image_fetch.file_roots"), "{message}");
    }

    #[tokio::test]
    async fn reads_files_inside_the_roots() {
        let fixture = file_fixture();
        let root = fixture.root.path();
        let image_fetcher = fetcher_with_root(root);
        let direct = root.join("cat.png");
        assert_eq!(
            image_fetcher
                .fetch(direct.to_str().expect("utf-8"))
                .await
                .expect("inside"),
            PNG_BYTES
        );
        let file_url = Url::from_file_path(&direct).expect("file url");
        assert_eq!(
            image_fetcher.fetch(file_url.as_str()).await.expect("file url"),
            PNG_BYTES
        );
        let through_symlink = root.join("sub/alias.png");
        let bytes = image_fetcher.fetch(through_symlink.to_str().expect("utf-8")).await;
        assert_eq!(bytes.expect("a symlink that stays inside"), PNG_BYTES);
        let with_dots = format!("{}/sub/../cat.png", root.display());
        assert_eq!(
            image_fetcher.fetch(&with_dots).await.expect("dot-dot inside"),
            PNG_BYTES
        );
    }

    #[tokio::test]
    async fn refuses_files_outside_the_roots() {
        let fixture = file_fixture();
        let root = fixture.root.path();
        let image_fetcher = fetcher_with_root(root);
        let outside_cases = [
            fixture.outside_image.display().to_string(),
            root.join("escape.png").display().to_string(),
            root.join("escape_dir/secret.png").display().to_string(),
            format!("{}/../{}", root.display(), fixture.outside_image.display()),
            "/etc/passwd".to_string(),
            "/definitely/missing/file.png".to_string(),
        ];
        for path in outside_cases {
            let error = image_fetcher.fetch(&path).await.expect_err(&path);
            assert!(
                matches!(error, ImageSourceError::OutsideFileRoots { .. }),
                "{path}: {error}"
            );
            assert!(
                error.to_string().contains("add its folder to image_fetch.file_roots"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn reports_file_problems_inside_the_roots() {
        let fixture = file_fixture();
        let root = fixture.root.path();
        let image_fetcher = fetcher_with_root(root);
        let missing = root.join("missing.png");
        let error = image_fetcher
            .fetch(missing.to_str().expect("utf-8"))
            .await
            .expect_err("missing");
        assert!(matches!(error, ImageSourceError::FileRead { .. }), "{error}");
        let text = root.join("notes.txt");
        let error = image_fetcher
            .fetch(text.to_str().expect("utf-8"))
            .await
            .expect_err("text");
        assert!(
            error.to_string().contains("holds data starting with \"hello\""),
            "{error}"
        );
        let big = root.join("big.png");
        let error = image_fetcher
            .fetch(big.to_str().expect("utf-8"))
            .await
            .expect_err("big");
        assert!(matches!(error, ImageSourceError::TooLarge { .. }), "{error}");
        let error = image_fetcher
            .fetch(root.to_str().expect("utf-8"))
            .await
            .expect_err("folder");
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let fifo = root.join("pipe.png");
        let fifo_c_path = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("no nul");
        // SAFETY: a valid NUL-terminated path; mkfifo does not retain the pointer.
        assert_eq!(unsafe { libc::mkfifo(fifo_c_path.as_ptr(), 0o600) }, 0, "mkfifo");
        let error = image_fetcher
            .fetch(fifo.to_str().expect("utf-8"))
            .await
            .expect_err("fifo");
        assert!(
            error.to_string().contains("not a regular file"),
            "a FIFO is refused, not waited on: {error}"
        );
    }

    // ---- HTTP -----------------------------------------------------------------------------

    /// Serves canned responses on a loopback port until the test's runtime ends.
    async fn start_test_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            while let Ok((socket, _peer)) = listener.accept().await {
                tokio::spawn(serve_one(socket));
            }
        });
        address
    }

    async fn serve_one(mut socket: TcpStream) {
        let mut request = Vec::new();
        let mut buffer = [0_u8; 1024];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < 16 * 1024 {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
        let request_text = String::from_utf8_lossy(&request);
        let path = request_text.split_whitespace().nth(1).unwrap_or("/").to_string();
        let response = canned_response(&path).await;
        // The client may hang up early (size limits); that is what some tests want.
        let _ = socket.write_all(&response).await;
        let _ = socket.shutdown().await;
    }

    fn http_response(status_line: &str, headers: &[(&str, String)], body: &[u8], announce_length: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {status_line}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if announce_length {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        [head.as_bytes(), body].concat()
    }

    async fn canned_response(path: &str) -> Vec<u8> {
        let png_type = [("Content-Type", "image/png".to_string())];
        let oversized = [PNG_BYTES, &vec![0_u8; 3 * TEST_MAX_BYTES as usize]].concat();
        let redirect_to = |target: &str| http_response("302 Found", &[("Location", target.to_string())], b"", true);
        match path {
            "/image.png" => http_response("200 OK", &png_type, PNG_BYTES, true),
            "/unannounced.png" => http_response("200 OK", &png_type, PNG_BYTES, false),
            "/large-announced.png" => http_response("200 OK", &png_type, &oversized, true),
            "/large-unannounced.png" => http_response("200 OK", &png_type, &oversized, false),
            "/page.html" => {
                let html = b"<!doctype html><html><body>cat</body></html>";
                http_response(
                    "200 OK",
                    &[("Content-Type", "text/html; charset=utf-8".to_string())],
                    html,
                    true,
                )
            }
            "/slow.png" => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                http_response("200 OK", &png_type, PNG_BYTES, true)
            }
            "/redirect-to-other-loopback" => redirect_to("http://127.0.0.2/image.png"),
            "/redirect-to-ftp" => redirect_to("ftp://127.0.0.1/image.png"),
            _ => match path
                .strip_prefix("/redirect/")
                .and_then(|hops| hops.parse::<u32>().ok())
            {
                Some(0) => redirect_to("/image.png"),
                Some(hops) => redirect_to(&format!("/redirect/{}", hops - 1)),
                None => http_response("404 Not Found", &[], b"no such thing", true),
            },
        }
    }

    #[tokio::test]
    async fn fetches_an_image_over_http() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&config_allowing_loopback());
        let bytes = image_fetcher.fetch(&format!("http://{address}/image.png")).await;
        assert_eq!(bytes.expect("image"), PNG_BYTES);
        let bytes = image_fetcher.fetch(&format!("http://{address}/unannounced.png")).await;
        assert_eq!(bytes.expect("image without Content-Length"), PNG_BYTES);
    }

    #[tokio::test]
    async fn follows_redirects_up_to_the_limit() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&config_allowing_loopback());
        // /redirect/2 → /redirect/1 → /redirect/0 → /image.png: three redirects.
        let bytes = image_fetcher.fetch(&format!("http://{address}/redirect/2")).await;
        assert_eq!(bytes.expect("three redirects are allowed"), PNG_BYTES);
        let error = image_fetcher
            .fetch(&format!("http://{address}/redirect/3"))
            .await
            .expect_err("four redirects");
        assert!(matches!(
            error,
            ImageSourceError::TooManyRedirects { max_redirects: 3, .. }
        ));
        assert!(
            error.to_string().starts_with("too many redirects (more than 3)"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn every_redirect_hop_is_checked() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&config_allowing_loopback());
        let error = image_fetcher
            .fetch(&format!("http://{address}/redirect-to-other-loopback"))
            .await
            .expect_err("127.0.0.2 is not in the allow list");
        assert_eq!(
            error.to_string(),
            "image URL [http://127.0.0.2/image.png] resolves to a loopback address [127.0.0.2]; \
             allow it with image_fetch.allow_private"
        );
        let error = image_fetcher
            .fetch(&format!("http://{address}/redirect-to-ftp"))
            .await
            .expect_err("ftp");
        assert!(matches!(error, ImageSourceError::UnsupportedScheme { .. }), "{error}");
    }

    #[tokio::test]
    async fn enforces_the_size_limit_while_streaming() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&config_allowing_loopback());
        for path in ["/large-announced.png", "/large-unannounced.png"] {
            let error = image_fetcher
                .fetch(&format!("http://{address}{path}"))
                .await
                .expect_err(path);
            assert_eq!(
                error.to_string(),
                format!("image larger than the limit of {TEST_MAX_BYTES} bytes (image_fetch.max_bytes)")
            );
        }
    }

    #[tokio::test]
    async fn says_what_came_back_instead_of_an_image() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&config_allowing_loopback());
        let url = format!("http://{address}/page.html");
        let error = image_fetcher.fetch(&url).await.expect_err("html");
        assert_eq!(
            error.to_string(),
            format!(
                "not an image: the URL [{url}] returned text/html starting with \"<!doctype html><html><body>cat</body></h\"; \
                 expected JPEG, PNG, GIF, WebP, BMP or TIFF"
            )
        );
        let url = format!("http://{address}/missing.png");
        let error = image_fetcher.fetch(&url).await.expect_err("404");
        assert_eq!(error.to_string(), format!("HTTP status 404 from [{url}]"));
    }

    #[tokio::test]
    async fn gives_up_after_the_timeout() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&ImageFetchConfig {
            timeout_ms: 300,
            ..config_allowing_loopback()
        });
        let started = Instant::now();
        let error = image_fetcher
            .fetch(&format!("http://{address}/slow.png"))
            .await
            .expect_err("slow");
        assert_eq!(
            error.to_string(),
            "image request timed out after 300 ms (image_fetch.timeout_ms)"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn refuses_loopback_without_the_allow_list() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&ImageFetchConfig {
            allow_private: Vec::new(),
            ..config_allowing_loopback()
        });
        let url = format!("http://{address}/image.png");
        let error = image_fetcher.fetch(&url).await.expect_err("literal loopback");
        assert_eq!(
            error.to_string(),
            format!(
                "image URL [{url}] resolves to a loopback address [127.0.0.1]; allow it with image_fetch.allow_private"
            )
        );
        // A name goes through the resolver, which checks what it resolves to.
        let by_name = format!("http://localhost:{}/image.png", address.port());
        let error = image_fetcher.fetch(&by_name).await.expect_err("localhost");
        assert!(
            matches!(
                error,
                ImageSourceError::RestrictedAddress {
                    range: RestrictedRange::Loopback,
                    ..
                }
            ),
            "{error}"
        );
        let mapped = format!("http://[::ffff:127.0.0.1]:{}/image.png", address.port());
        let error = image_fetcher.fetch(&mapped).await.expect_err("mapped loopback");
        assert!(matches!(error, ImageSourceError::RestrictedAddress { .. }), "{error}");
    }

    #[tokio::test]
    async fn resolver_allows_listed_host_names() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&ImageFetchConfig {
            allow_private: vec!["localhost".to_string()],
            ..config_allowing_loopback()
        });
        let by_name = format!("http://localhost:{}/image.png", address.port());
        assert_eq!(image_fetcher.fetch(&by_name).await.expect("allowed by name"), PNG_BYTES);
    }

    #[tokio::test]
    async fn fetch_all_keeps_the_order_of_the_references() {
        let address = start_test_server().await;
        let image_fetcher = fetcher(&config_allowing_loopback());
        let references = vec![
            format!("http://{address}/image.png"),
            format!("http://{address}/missing.png"),
            STANDARD.encode(JPEG_BYTES),
            format!("http://{address}/redirect/1"),
        ];
        let results = image_fetcher.fetch_all(&references).await;
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].as_deref().expect("image"), PNG_BYTES);
        assert!(matches!(
            results[1],
            Err(ImageSourceError::HttpStatus { status: 404, .. })
        ));
        assert_eq!(results[2].as_deref().expect("base64"), JPEG_BYTES);
        assert_eq!(results[3].as_deref().expect("redirected"), PNG_BYTES);
    }

    #[test]
    fn fetch_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let image_fetcher = fetcher(&config_allowing_loopback());
        let references = vec!["x".to_string()];
        assert_send(&image_fetcher.fetch("x"));
        assert_send(&image_fetcher.fetch_all(&references));
    }
}
