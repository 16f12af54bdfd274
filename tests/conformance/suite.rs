//! One YAML test file: `---`-separated documents holding optional `setup` and `teardown` step
//! lists and named sections (each a list of steps).

use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

pub struct Section {
    pub name: String,
    pub steps: Vec<Value>,
}

pub struct Suite {
    pub setup: Vec<Value>,
    pub teardown: Vec<Value>,
    pub sections: Vec<Section>,
}

impl Suite {
    pub fn load(path: &Path) -> Result<Suite, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        Suite::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Suite, String> {
        let mut suite = Suite {
            setup: Vec::new(),
            teardown: Vec::new(),
            sections: Vec::new(),
        };
        for document in serde_yaml::Deserializer::from_str(text) {
            let yaml = serde_yaml::Value::deserialize(document).map_err(|e| format!("YAML: {e}"))?;
            if yaml.is_null() {
                continue;
            }
            let json: Value = serde_json::to_value(&yaml).map_err(|e| format!("YAML → JSON: {e}"))?;
            let map = json
                .as_object()
                .ok_or("each YAML document must be a map of section name → steps")?;
            for (name, steps) in map {
                let steps = match steps {
                    Value::Array(steps) => steps.clone(),
                    Value::Null => Vec::new(),
                    _ => return Err(format!("section [{name}] must be a list of steps")),
                };
                match name.as_str() {
                    "setup" => suite.setup.extend(steps),
                    "teardown" => suite.teardown.extend(steps),
                    _ if suite.sections.iter().any(|s| s.name == *name) => {
                        return Err(format!("duplicate section [{name}]"));
                    }
                    _ => suite.sections.push(Section {
                        name: name.clone(),
                        steps,
                    }),
                }
            }
        }
        Ok(suite)
    }
}
