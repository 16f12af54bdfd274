//! Node and cluster identity as ES clients see it (`GET /`, `_nodes`, `_cluster/health`).

use std::path::Path;

use serde_json::{Value, json};

use crate::error::Result;

/// The ES version Iris speaks. Clients of 8.x and 9.x accept it.
pub const VERSION_NUMBER: &str = "9.2.0";
pub const LUCENE_VERSION: &str = "10.3.1";
pub const MINIMUM_WIRE_COMPATIBILITY_VERSION: &str = "8.19.0";
pub const MINIMUM_INDEX_COMPATIBILITY_VERSION: &str = "8.0.0";
pub const INDEX_VERSION_CREATED: &str = "9039000";
pub const BUILD_HASH: &str = "iris";
pub const BUILD_DATE: &str = "2026-11-01T00:00:00.000Z";
pub const TAGLINE: &str = "You Know, for Search";
/// The single node's id (ES node ids are 22-character strings).
pub const NODE_ID: &str = "irisNode0000000000000A";

/// Identity of this cluster of one node.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub cluster_name: String,
    pub cluster_uuid: String,
    pub node_name: String,
    pub publish_address: String,
}

impl ClusterInfo {
    /// Loads the cluster uuid from `<data>/cluster.json`, creating it on first start.
    pub fn load_or_create(
        data_folder: &Path,
        cluster_name: &str,
        node_name: &str,
        publish_address: &str,
    ) -> Result<ClusterInfo> {
        let path = data_folder.join("cluster.json");
        let cluster_uuid = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|value| value["cluster_uuid"].as_str().map(str::to_string))
                .unwrap_or_else(crate::index::registry::new_uuid),
            Err(_) => {
                let uuid = crate::index::registry::new_uuid();
                let bytes = serde_json::to_vec(&json!({"cluster_uuid": uuid}))?;
                crate::store::write_atomic(&path, &bytes)?;
                uuid
            }
        };
        Ok(ClusterInfo {
            cluster_name: cluster_name.to_string(),
            cluster_uuid,
            node_name: node_name.to_string(),
            publish_address: publish_address.to_string(),
        })
    }

    /// Returns the `GET /` body.
    pub fn info(&self) -> Value {
        json!({
            "name": self.node_name,
            "cluster_name": self.cluster_name,
            "cluster_uuid": self.cluster_uuid,
            "version": {
                "number": VERSION_NUMBER,
                "build_flavor": "default",
                "build_type": "tar",
                "build_hash": BUILD_HASH,
                "build_date": BUILD_DATE,
                "build_snapshot": false,
                "lucene_version": LUCENE_VERSION,
                "minimum_wire_compatibility_version": MINIMUM_WIRE_COMPATIBILITY_VERSION,
                "minimum_index_compatibility_version": MINIMUM_INDEX_COMPATIBILITY_VERSION
            },
            "tagline": TAGLINE
        })
    }

    /// Returns this node as `_nodes` lists it.
    pub fn node(&self) -> Value {
        let host = self
            .publish_address
            .rsplit_once(':')
            .map(|(host, _)| host.to_string())
            .unwrap_or_else(|| "127.0.0.1".into());
        json!({
            "name": self.node_name,
            "transport_address": self.publish_address,
            "host": host,
            "ip": host,
            "version": VERSION_NUMBER,
            "transport_version": INDEX_VERSION_CREATED,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": BUILD_HASH,
            "roles": ["data", "ingest", "master"],
            "attributes": {},
            "http": {
                "bound_address": [self.publish_address],
                "publish_address": self.publish_address,
                "max_content_length_in_bytes": 104857600
            }
        })
    }
}
