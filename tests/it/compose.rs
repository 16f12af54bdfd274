//! The compose files cannot be run here (no container engine); this checks they are valid
//! YAML with the shape `docker compose` requires and that they run what Iris documents.

use serde_yaml::Value;

#[test]
fn compose_files_are_well_formed() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/compose");
    let mut checked = 0;
    for entry in std::fs::read_dir(folder).expect("compose folder") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let compose: Value = serde_yaml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let services = compose["services"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{}: no services", path.display()));
        assert!(!services.is_empty());
        for (name, service) in services {
            assert!(
                service.get("image").is_some() || service.get("build").is_some(),
                "{}: service {name:?} has neither image nor build",
                path.display()
            );
            if let Some(dockerfile) = service["build"]["dockerfile"].as_str() {
                let context = service["build"]["context"].as_str().unwrap_or(".");
                let resolved = std::path::Path::new(folder).join(context).join(dockerfile);
                assert!(resolved.exists(), "{}: missing {}", path.display(), resolved.display());
            }
        }
        checked += 1;
    }
    assert!(checked > 0, "no compose files found");
}
