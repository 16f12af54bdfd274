//! One mapped field: its ES type and the parameters Iris acts on, parsed from the
//! canonical mapping JSON and validated the way ES validates them.

use serde_json::{Map, Value};

use super::vector::VectorParams;
use crate::date::DateFormat;
use crate::error::{Error, Result};

/// Integer widths ES distinguishes (range checks on ingest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegerType {
    Long,
    Integer,
    Short,
    Byte,
    UnsignedLong,
}

/// Floating point types ES distinguishes (precision on ingest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloatType {
    Double,
    Float,
    HalfFloat,
    ScaledFloat { scaling_factor: f64 },
}

/// What kind of values a field holds and how they are indexed.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    Text {
        analyzer: String,
        search_analyzer: String,
        position_increment_gap: u32,
    },
    Keyword {
        ignore_above: Option<usize>,
        null_value: Option<String>,
        normalizer: Option<String>,
    },
    Integer(IntegerType),
    Float(FloatType),
    Boolean,
    Date {
        format: DateFormat,
    },
    Object {
        enabled: bool,
    },
    Binary,
    DenseVector(VectorParams),
    KnnVector(VectorParams),
}

impl FieldType {
    /// Returns the ES type name, as `GET _mapping` spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldType::Text { .. } => "text",
            FieldType::Keyword { .. } => "keyword",
            FieldType::Integer(IntegerType::Long) => "long",
            FieldType::Integer(IntegerType::Integer) => "integer",
            FieldType::Integer(IntegerType::Short) => "short",
            FieldType::Integer(IntegerType::Byte) => "byte",
            FieldType::Integer(IntegerType::UnsignedLong) => "unsigned_long",
            FieldType::Float(FloatType::Double) => "double",
            FieldType::Float(FloatType::Float) => "float",
            FieldType::Float(FloatType::HalfFloat) => "half_float",
            FieldType::Float(FloatType::ScaledFloat { .. }) => "scaled_float",
            FieldType::Boolean => "boolean",
            FieldType::Date { .. } => "date",
            FieldType::Object { .. } => "object",
            FieldType::Binary => "binary",
            FieldType::DenseVector(_) => "dense_vector",
            FieldType::KnnVector(_) => "knn_vector",
        }
    }

    /// Returns true for types whose values are numbers in the index.
    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldType::Integer(_) | FieldType::Float(_))
    }
}

/// A field of the mapping, addressed by its full dotted path.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub path: String,
    pub field_type: FieldType,
    /// `index: false` fields are kept in `_source` (and doc values) but not searchable.
    pub indexed: bool,
    pub doc_values: bool,
    /// For multi-fields (`title.keyword`): the field whose values feed this one.
    pub source_path: String,
    /// `copy_to` targets.
    pub copy_to: Vec<String>,
}

impl FieldDef {
    /// Returns true when values live in the keyword/numeric columns (sortable, aggregatable).
    pub fn has_doc_values(&self) -> bool {
        self.doc_values
            && matches!(
                self.field_type,
                FieldType::Keyword { .. }
                    | FieldType::Integer(_)
                    | FieldType::Float(_)
                    | FieldType::Boolean
                    | FieldType::Date { .. }
            )
    }
}

/// Parameters every ES field type accepts and Iris ignores safely.
const COMMON_IGNORED: &[&str] = &["meta", "store", "similarity_ignored"];

fn allowed_params(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "text" => &[
            "type",
            "analyzer",
            "search_analyzer",
            "search_quote_analyzer",
            "fields",
            "index",
            "norms",
            "store",
            "boost",
            "copy_to",
            "position_increment_gap",
            "index_options",
            "term_vector",
            "similarity",
            "fielddata",
            "eager_global_ordinals",
            "meta",
            "index_phrases",
            "index_prefixes",
        ],
        "keyword" => &[
            "type",
            "ignore_above",
            "null_value",
            "normalizer",
            "fields",
            "index",
            "doc_values",
            "store",
            "boost",
            "copy_to",
            "norms",
            "eager_global_ordinals",
            "similarity",
            "index_options",
            "split_queries_on_whitespace",
            "meta",
            "time_series_dimension",
        ],
        "long" | "integer" | "short" | "byte" | "unsigned_long" | "double" | "float" | "half_float" => &[
            "type",
            "index",
            "doc_values",
            "store",
            "null_value",
            "coerce",
            "ignore_malformed",
            "boost",
            "copy_to",
            "fields",
            "meta",
            "time_series_metric",
            "time_series_dimension",
        ],
        "scaled_float" => &[
            "type",
            "scaling_factor",
            "index",
            "doc_values",
            "store",
            "null_value",
            "coerce",
            "ignore_malformed",
            "boost",
            "copy_to",
            "fields",
            "meta",
            "time_series_metric",
        ],
        "boolean" => &[
            "type",
            "index",
            "doc_values",
            "store",
            "null_value",
            "boost",
            "fields",
            "meta",
            "copy_to",
        ],
        "date" => &[
            "type",
            "format",
            "index",
            "doc_values",
            "store",
            "null_value",
            "ignore_malformed",
            "boost",
            "locale",
            "copy_to",
            "fields",
            "meta",
        ],
        "object" => &["type", "properties", "dynamic", "enabled", "subobjects"],
        "binary" => &["type", "doc_values", "store"],
        "dense_vector" => &[
            "type",
            "dims",
            "element_type",
            "similarity",
            "index",
            "index_options",
            "meta",
        ],
        "knn_vector" => &[
            "type",
            "dimension",
            "data_type",
            "space_type",
            "method",
            "mode",
            "compression_level",
            "model_id",
            "doc_values",
            "meta",
        ],
        _ => &[],
    }
}

/// Valid ES types that Iris does not index (yet); they get a clear error.
const KNOWN_UNSUPPORTED_TYPES: &[&str] = &[
    "nested",
    "flattened",
    "ip",
    "geo_point",
    "geo_shape",
    "point",
    "shape",
    "completion",
    "search_as_you_type",
    "token_count",
    "percolator",
    "join",
    "rank_feature",
    "rank_features",
    "sparse_vector",
    "semantic_text",
    "histogram",
    "integer_range",
    "float_range",
    "long_range",
    "double_range",
    "date_range",
    "ip_range",
    "alias",
    "wildcard",
    "constant_keyword",
    "version",
    "murmur3",
    "annotated_text",
    "match_only_text",
    "date_nanos",
    "aggregate_metric_double",
];

pub(super) fn mapper_error(reason: String) -> Error {
    Error::mapper_parsing(reason)
}

pub(super) fn bool_param(params: &Map<String, Value>, name: &str, default: bool, field: &str) -> Result<bool> {
    match params.get(name) {
        None => Ok(default),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(Value::String(text)) if text == "true" || text == "false" => Ok(text == "true"),
        Some(other) => Err(mapper_error(format!(
            "Cannot parse value [{other}] as only [true] or [false] are allowed. for field [{field}]"
        ))),
    }
}

pub(super) fn usize_param(params: &Map<String, Value>, name: &str, field: &str) -> Result<Option<usize>> {
    match params.get(name) {
        None => Ok(None),
        Some(value) => {
            let number = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()));
            match number {
                Some(number) => Ok(Some(number as usize)),
                None => Err(mapper_error(format!(
                    "[{name}] on mapper [{field}] must be a non-negative integer but was [{value}]"
                ))),
            }
        }
    }
}

pub(super) fn string_param(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

/// Parses one field's mapping JSON (without its `properties`/`fields`, which the caller
/// walks) into a [`FieldType`] plus the flags of [`FieldDef`].
pub fn parse_field_type(
    path: &str,
    params: &Map<String, Value>,
    known_analyzers: &dyn Fn(&str) -> bool,
) -> Result<(FieldType, bool, bool)> {
    let type_name = match params.get("type") {
        Some(Value::String(name)) => name.as_str(),
        Some(_) => {
            return Err(mapper_error(format!("type must be a string for field [{path}]")));
        }
        None if params.contains_key("properties") => "object",
        None => {
            return Err(mapper_error(format!("No type specified for field [{path}]")));
        }
    };
    if KNOWN_UNSUPPORTED_TYPES.contains(&type_name) {
        return Err(mapper_error(format!(
            "field type [{type_name}] of field [{path}] is not supported by Iris"
        )));
    }
    let allowed = allowed_params(type_name);
    if allowed.is_empty() {
        return Err(mapper_error(format!(
            "No handler for type [{type_name}] declared on field [{path}]"
        )));
    }
    for key in params.keys() {
        if !allowed.contains(&key.as_str()) && !COMMON_IGNORED.contains(&key.as_str()) {
            return Err(mapper_error(format!(
                "unknown parameter [{key}] on mapper [{path}] of type [{type_name}]"
            )));
        }
    }
    let indexed = bool_param(params, "index", true, path)?;
    let doc_values = bool_param(params, "doc_values", true, path)?;
    let field_type = match type_name {
        "text" => {
            let analyzer = string_param(params, "analyzer").unwrap_or_else(|| "standard".into());
            let search_analyzer = string_param(params, "search_analyzer").unwrap_or_else(|| analyzer.clone());
            for name in [&analyzer, &search_analyzer] {
                if !known_analyzers(name) {
                    return Err(mapper_error(format!(
                        "analyzer [{name}] has not been configured in mappings"
                    )));
                }
            }
            if bool_param(params, "fielddata", false, path)? {
                return Err(mapper_error(format!(
                    "[fielddata] on text field [{path}] is not supported by Iris; use a keyword sub-field"
                )));
            }
            let gap = usize_param(params, "position_increment_gap", path)?.unwrap_or(100);
            FieldType::Text {
                analyzer,
                search_analyzer,
                position_increment_gap: gap as u32,
            }
        }
        "keyword" => {
            if let Some(normalizer) = string_param(params, "normalizer")
                && normalizer != "lowercase"
            {
                return Err(mapper_error(format!(
                    "normalizer [{normalizer}] not found for field [{path}]"
                )));
            }
            FieldType::Keyword {
                ignore_above: usize_param(params, "ignore_above", path)?,
                null_value: string_param(params, "null_value"),
                normalizer: string_param(params, "normalizer"),
            }
        }
        "long" => FieldType::Integer(IntegerType::Long),
        "integer" => FieldType::Integer(IntegerType::Integer),
        "short" => FieldType::Integer(IntegerType::Short),
        "byte" => FieldType::Integer(IntegerType::Byte),
        "unsigned_long" => FieldType::Integer(IntegerType::UnsignedLong),
        "double" => FieldType::Float(FloatType::Double),
        "float" => FieldType::Float(FloatType::Float),
        "half_float" => FieldType::Float(FloatType::HalfFloat),
        "scaled_float" => {
            let scaling_factor = params
                .get("scaling_factor")
                .and_then(Value::as_f64)
                .ok_or_else(|| mapper_error(format!("Field [scaling_factor] is required for field [{path}]")))?;
            if !(scaling_factor.is_finite() && scaling_factor > 0.0) {
                return Err(mapper_error(format!(
                    "[scaling_factor] must be a positive number, got [{scaling_factor}]"
                )));
            }
            FieldType::Float(FloatType::ScaledFloat { scaling_factor })
        }
        "boolean" => FieldType::Boolean,
        "date" => {
            let format = match string_param(params, "format") {
                Some(spec) => DateFormat::parse(&spec)
                    .map_err(|error| mapper_error(format!("Invalid format: [{spec}] for field [{path}]: {error}")))?,
                None => DateFormat::default_format(),
            };
            FieldType::Date { format }
        }
        "object" => FieldType::Object {
            enabled: bool_param(params, "enabled", true, path)?,
        },
        "binary" => FieldType::Binary,
        "dense_vector" => FieldType::DenseVector(super::vector::parse_dense_vector(path, params)?),
        "knn_vector" => FieldType::KnnVector(super::vector::parse_knn_vector(path, params)?),
        _ => {
            return Err(mapper_error(format!(
                "No handler for type [{type_name}] declared on field [{path}]"
            )));
        }
    };
    Ok((field_type, indexed, doc_values))
}
