//! Server configuration: documented defaults < JSON config file < environment < command line.
//!
//! The CLI layer (clap, with `env = ...`) lives in `main.rs`; this module owns the
//! struct, its defaults and its validation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Everything `iris serve` needs to start. Per-index settings live in index metadata.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on (`IRIS_LISTEN`).
    pub listen: String,
    /// Folder holding all index data (`IRIS_DATA`).
    pub data: PathBuf,
    /// Largest accepted request body, like ES `http.max_content_length` (default 100 MB).
    pub max_content_length_bytes: u64,
    /// Default `index.refresh_interval` in milliseconds for indices that do not set one.
    pub refresh_interval_ms: u64,
    /// Cluster name reported by `GET /`.
    pub cluster_name: String,
    /// Node name reported by `GET /` and `GET /_nodes`.
    pub node_name: String,
    /// Folder of model folders (`models/*/manifest.json`, see models/README.md).
    pub models: PathBuf,
    /// The ONNX Runtime shared library; by default `<models>/runtime/libonnxruntime.so*`
    /// as `scripts/fetch_models.sh` puts it there, then `ORT_DYLIB_PATH`.
    pub onnxruntime: Option<PathBuf>,
    /// Threads each ONNX session uses for one inference (ONNX Runtime intra-op threads).
    pub inference_threads: usize,
    /// How images named by URL or path are fetched (ingest and queries).
    pub image_fetch: ImageFetchConfig,
}

/// Limits and permissions for images given as URLs or file paths.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImageFetchConfig {
    /// Whole-request timeout for an http(s) image.
    pub timeout_ms: u64,
    /// Largest image accepted, fetched or decoded from base64 (bytes).
    pub max_bytes: u64,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Hosts or CIDR ranges that may be fetched although private, loopback or link-local
    /// (refused by default against server-side request forgery), e.g. `["127.0.0.1/32"]`.
    pub allow_private: Vec<String>,
    /// Folders under which `file://` URLs and plain paths may be read (none by default).
    pub file_roots: Vec<PathBuf>,
    /// Largest decoded image in pixels (width × height), against decompression bombs.
    pub max_pixels: u64,
}

impl Default for ImageFetchConfig {
    fn default() -> ImageFetchConfig {
        ImageFetchConfig {
            timeout_ms: 10_000,
            max_bytes: 20 * 1024 * 1024,
            max_redirects: 3,
            allow_private: Vec::new(),
            file_roots: Vec::new(),
            max_pixels: 50_000_000,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:9200".to_string(),
            data: PathBuf::from("./data"),
            max_content_length_bytes: 100 * 1024 * 1024,
            refresh_interval_ms: 1000,
            cluster_name: "iris".to_string(),
            node_name: "iris-node-1".to_string(),
            models: PathBuf::from("./models"),
            onnxruntime: None,
            inference_threads: 2,
            image_fetch: ImageFetchConfig::default(),
        }
    }
}

/// A configuration that passed [`Config::validate`].
#[derive(Debug, Clone)]
pub struct ValidatedConfig {
    pub listen: SocketAddr,
    pub config: Config,
}

impl Config {
    /// Reads a JSON config file on top of the defaults.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("cannot read config file {}: {error}", path.display()))?;
        serde_json::from_str(&text).map_err(|error| anyhow::anyhow!("invalid config file {}: {error}", path.display()))
    }

    /// Applies `IRIS__KEY` environment overrides (the `env` map is passed in so tests do
    /// not mutate the process), then checks every value.
    pub fn validate(mut self, env: &HashMap<String, String>) -> anyhow::Result<ValidatedConfig> {
        for (key, value) in env {
            let Some(name) = key.strip_prefix("IRIS__") else {
                continue;
            };
            match name.to_ascii_lowercase().as_str() {
                "listen" => self.listen = value.clone(),
                "data" => self.data = PathBuf::from(value),
                "max_content_length_bytes" => self.max_content_length_bytes = value.parse()?,
                "refresh_interval_ms" => self.refresh_interval_ms = value.parse()?,
                "cluster_name" => self.cluster_name = value.clone(),
                "node_name" => self.node_name = value.clone(),
                "models" => self.models = PathBuf::from(value),
                "onnxruntime" => self.onnxruntime = Some(PathBuf::from(value)),
                "inference_threads" => self.inference_threads = value.parse()?,
                other => anyhow::bail!("unknown configuration key in environment: IRIS__{other}"),
            }
        }
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|error| anyhow::anyhow!("invalid listen address [{}]: {error}", self.listen))?;
        if self.max_content_length_bytes == 0 {
            anyhow::bail!("max_content_length_bytes must be positive");
        }
        Ok(ValidatedConfig { listen, config: self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let validated = Config::default().validate(&HashMap::new()).expect("valid");
        assert_eq!(validated.listen.port(), 9200);
    }

    #[test]
    fn env_overrides_and_rejects_unknown_keys() {
        let mut env = HashMap::new();
        env.insert("IRIS__LISTEN".to_string(), "127.0.0.1:9300".to_string());
        let validated = Config::default().validate(&env).expect("valid");
        assert_eq!(validated.listen.port(), 9300);
        env.insert("IRIS__NOPE".to_string(), "1".to_string());
        assert!(Config::default().validate(&env).is_err());
    }

    #[test]
    fn file_rejects_unknown_fields() {
        let parsed: Result<Config, _> = serde_json::from_str(r#"{"listen":"x","bogus":1}"#);
        assert!(parsed.is_err());
    }
}
