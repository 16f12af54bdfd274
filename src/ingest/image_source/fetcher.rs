//! Fetching: the checked resolver, http(s) with manual redirects and limits, files under
//! the allowed roots, base64 and data URLs.

use super::*;

/// Why `CheckedResolver` gave no addresses; found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
pub(super) enum ResolveRefusal {
    #[error("host resolves to a {range} address [{address}]")]
    Restricted { address: IpAddr, range: RestrictedRange },
    #[error("{reason}")]
    Lookup { reason: String },
}

/// The HTTP client's only resolver: resolves with the system resolver and refuses a host if
/// any of its addresses is restricted, so connections go only to checked addresses.
#[derive(Debug)]
pub(super) struct CheckedResolver {
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

    pub(super) async fn decode_base64_image(
        &self,
        base64: String,
        subject: String,
    ) -> Result<Vec<u8>, ImageSourceError> {
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

    pub(super) async fn fetch_url(&self, url: Url) -> Result<Vec<u8>, ImageSourceError> {
        let timeout = Duration::from_millis(self.timeout_ms);
        match tokio::time::timeout(timeout, self.fetch_url_following_redirects(url)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(ImageSourceError::Timeout {
                timeout_ms: self.timeout_ms,
            }),
        }
    }

    pub(super) async fn fetch_url_following_redirects(&self, original_url: Url) -> Result<Vec<u8>, ImageSourceError> {
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
    pub(super) fn check_url_target(&self, url: &Url) -> Result<(), ImageSourceError> {
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
    pub(super) async fn read_body(
        &self,
        url: &Url,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, ImageSourceError> {
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
    pub(super) async fn read_file(&self, path: &Path) -> Result<Vec<u8>, ImageSourceError> {
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
    pub(super) async fn resolved_file_roots(&self) -> Vec<PathBuf> {
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
pub(super) fn lexically_normalize(path: &Path) -> PathBuf {
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
pub(super) fn request_error(url: &Url, error: &reqwest::Error) -> ImageSourceError {
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
pub(super) fn error_chain(error: &dyn StdError) -> String {
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
