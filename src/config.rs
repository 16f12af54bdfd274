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
