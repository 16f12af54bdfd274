//! `api-spec/openapi.yaml` must list exactly the routes the router serves.

use std::collections::BTreeSet;

use serde_yaml::Value;

#[test]
fn openapi_spec_matches_router() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml")).expect("spec file");
    let spec: Value = serde_yaml::from_str(&text).expect("valid yaml");
    let mut documented = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().expect("paths") {
        for (method, operation) in item.as_mapping().expect("path item") {
            let api = operation["x-es-api"].as_str().expect("x-es-api").to_string();
            let operation_id = operation["operationId"].as_str().expect("operationId").to_string();
            assert!(
                operation_id == api || operation_id.starts_with(&format!("{api}#")),
                "{operation_id} vs {api}"
            );
            assert!(
                operation_ids.insert(operation_id.clone()),
                "duplicate operationId {operation_id}"
            );
            documented.insert((
                method.as_str().expect("method").to_string(),
                path.as_str().expect("path").to_string(),
                api,
            ));
        }
    }
    let served: BTreeSet<(String, String, String)> = iris::api::ROUTES
        .iter()
        .map(|(method, path, api)| (method.to_string(), path.to_string(), api.to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(missing.is_empty(), "served but not in the spec: {missing:?}");
    assert!(extra.is_empty(), "in the spec but not served: {extra:?}");
}
