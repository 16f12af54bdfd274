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
