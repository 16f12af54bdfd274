//! Regex-based queries (`prefix`, `wildcard`, `regexp`, case-insensitive terms).

use tantivy::query::{EmptyQuery, Query, RegexQuery};
use tantivy::schema::Field;

use super::{BoxQuery, QueryBuilder, constant, shard_error};
use crate::error::Result;
use crate::index::mapping::FieldType;

impl QueryBuilder<'_> {
    pub(super) fn pattern_query(
        &self,
        path: &str,
        pattern: &str,
        boost: f32,
        case_insensitive: bool,
    ) -> Result<BoxQuery> {
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let pattern = if case_insensitive {
            format!("(?i:{pattern})")
        } else {
            pattern.to_string()
        };
        let invalid = |error: tantivy::TantivyError| shard_error(format!("failed to create query: {error}"));
        let query: BoxQuery = match &def.field_type {
            FieldType::Text { .. } => Box::new(RegexQuery::from_pattern(&pattern, self.slot(path)?).map_err(invalid)?),
            FieldType::Keyword { .. } => {
                let path_prefix = self.keyword_path_prefix(path);
                let escaped_prefix: String = path_prefix.iter().map(|byte| format!("\\x{byte:02x}")).collect();
                let full_pattern = format!("{escaped_prefix}(?:{pattern})");
                let regex = tantivy_fst::Regex::new(&full_pattern)
                    .map_err(|error| shard_error(format!("failed to create query: {error}")))?;
                Box::new(JsonRegexQuery {
                    field: self.fields.values,
                    regex: std::sync::Arc::new(regex),
                    path_prefix,
                })
            }
            other => {
                return Err(shard_error(format!(
                    "failed to create query: Can only use wildcard, prefix and regexp queries on keyword and text fields - not on [{path}] which is of type [{}]",
                    other.type_name()
                )));
            }
        };
        Ok(constant(query, boost))
    }
}

/// Escapes regex metacharacters of a literal.
pub fn regex_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for character in literal.chars() {
        if "\\.+*?()|[]{}^$#&~\"<>@".contains(character) {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

/// Converts an ES wildcard (`*`, `?`, `\` escapes) into a regex.
pub fn wildcard_to_regex(pattern: &str) -> String {
    let mut out = String::new();
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        match character {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                if let Some(escaped) = characters.next() {
                    out.push_str(&regex_escape(&escaped.to_string()));
                }
            }
            other => out.push_str(&regex_escape(&other.to_string())),
        }
    }
    out
}

/// A regex over the keyword terms of one JSON path.
#[derive(Debug, Clone)]
struct JsonRegexQuery {
    field: Field,
    regex: std::sync::Arc<tantivy_fst::Regex>,
    path_prefix: Vec<u8>,
}

impl Query for JsonRegexQuery {
    fn weight(
        &self,
        _enable_scoring: tantivy::query::EnableScoring<'_>,
    ) -> tantivy::Result<Box<dyn tantivy::query::Weight>> {
        Ok(Box::new(
            tantivy::query::AutomatonWeight::<tantivy_fst::Regex>::new_for_json_path(
                self.field,
                self.regex.clone(),
                &self.path_prefix,
            ),
        ))
    }
}
