//! Index and alias name rules, as ES's `MetadataCreateIndexService` enforces them.

use crate::error::{Error, ErrorKind, Result};

/// Checks an index (or alias) name and returns the ES error for a bad one.
pub fn validate_index_name(name: &str) -> Result<()> {
    let invalid = |detail: &str| {
        Err(Error::new(
            ErrorKind::InvalidIndexName,
            format!("Invalid index name [{name}], {detail}"),
        )
        .with_meta("index_uuid", "_na_")
        .with_meta("index", name))
    };
    if name.is_empty() {
        return invalid("must not be empty");
    }
    if name
        .chars()
        .any(|c| matches!(c, '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ','))
    {
        return invalid(r#"must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]"#);
    }
    if name.contains('#') {
        return invalid("must not contain '#'");
    }
    if name.contains(':') {
        return invalid("must not contain ':'");
    }
    if name.starts_with(['_', '-', '+']) {
        return invalid("must not start with '_', '-', or '+'");
    }
    if name.chars().any(char::is_uppercase) {
        return invalid("must be lowercase");
    }
    if name == "." || name == ".." {
        return invalid("must not be '.' or '..'");
    }
    if name.len() > 255 {
        return invalid(&format!("index name is too long, ({} > 255)", name.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_like_es() {
        assert!(validate_index_name("photos-2024").is_ok());
        assert_eq!(
            validate_index_name("Photos").unwrap_err().reason,
            "Invalid index name [Photos], must be lowercase"
        );
        assert!(validate_index_name("_x").is_err());
        assert!(validate_index_name("a*b").is_err());
        assert!(validate_index_name("..").is_err());
        assert!(validate_index_name(&"a".repeat(256)).is_err());
    }
}
