//! `dense_vector` (Elasticsearch) and `knn_vector` (OpenSearch) mappings: dimensions,
//! element type, similarity and index options, validated as ES and OpenSearch validate them.
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/dense-vector.html>

use serde_json::{Map, Value};

use super::field::{bool_param, mapper_error, string_param, usize_param};
use crate::error::Result;

const MAX_DENSE_VECTOR_DIMS: usize = 4096;
const MAX_KNN_VECTOR_DIMS: usize = 16_000;
const DEFAULT_M: usize = 16;
const DEFAULT_EF_CONSTRUCTION: usize = 100;

/// How vector components are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorElement {
    Float,
    /// Integers in -128..=127.
    Byte,
    /// Packed bits; `dims` counts bits.
    Bit,
}

/// The similarity of a field, which fixes both the raw comparison and the `_score` formula
/// (ES and OpenSearch score the same raw value differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorSimilarity {
    Cosine,
    DotProduct,
    L2Norm,
    MaxInnerProduct,
    OsL2,
    OsCosine,
    OsInnerProduct,
    OsL1,
    OsLInf,
    OsHamming,
}

/// Graph or exhaustive search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorIndexKind {
    Hnsw { m: usize, ef_construction: usize },
    Flat,
}

/// Codes used while searching (exact f32 rescoring always follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorQuantization {
    None,
    Int8,
    Binary,
}

/// A validated vector field.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorParams {
    /// None until the first document sets it (ES infers `dims` from the first vector).
    pub dims: Option<usize>,
    pub element: VectorElement,
    pub similarity: VectorSimilarity,
    /// `index: false` vectors are stored but cannot be searched with kNN.
    pub indexed: bool,
    pub index_kind: VectorIndexKind,
    pub quantization: VectorQuantization,
    /// `index.knn.algo_param.ef_search` style default for OpenSearch fields.
    pub ef_search: Option<usize>,
}

impl VectorParams {
    /// Returns the mapping type name users wrote.
    pub fn similarity_name(&self) -> &'static str {
        match self.similarity {
            VectorSimilarity::Cosine => "cosine",
            VectorSimilarity::DotProduct => "dot_product",
            VectorSimilarity::L2Norm => "l2_norm",
            VectorSimilarity::MaxInnerProduct => "max_inner_product",
            VectorSimilarity::OsL2 => "l2",
            VectorSimilarity::OsCosine => "cosinesimil",
            VectorSimilarity::OsInnerProduct => "innerproduct",
            VectorSimilarity::OsL1 => "l1",
            VectorSimilarity::OsLInf => "linf",
            VectorSimilarity::OsHamming => "hamming",
        }
    }
}

fn element_of(name: &str, path: &str) -> Result<VectorElement> {
    match name {
        "float" => Ok(VectorElement::Float),
        "byte" => Ok(VectorElement::Byte),
        "bit" | "binary" => Ok(VectorElement::Bit),
        other => Err(mapper_error(format!(
            "invalid element_type [{other}]; available types are [bit, byte, float] for field [{path}]"
        ))),
    }
}

fn positive(params: &Map<String, Value>, name: &str, default: usize, path: &str) -> Result<usize> {
    match usize_param(params, name, path)? {
        Some(0) => Err(mapper_error(format!(
            "[{name}] must be positive, got [0] for field [{path}]"
        ))),
        Some(value) => Ok(value),
        None => Ok(default),
    }
}

/// Parses `index_options` of a `dense_vector`. Iris runs HNSW or flat search over f32
/// vectors with optional int8 codes: `int4_*` and `bbq_*` map to int8 codes (the closest
/// scheme Iris implements), documented in README.
fn parse_index_options(
    params: &Map<String, Value>,
    element: VectorElement,
    dims: Option<usize>,
    path: &str,
) -> Result<(VectorIndexKind, VectorQuantization)> {
    let default_type = match element {
        VectorElement::Float => "int8_hnsw",
        VectorElement::Byte | VectorElement::Bit => "hnsw",
    };
    let empty = Map::new();
    let options = match params.get("index_options") {
        None => &empty,
        Some(Value::Object(options)) => options,
        Some(other) => {
            return Err(mapper_error(format!(
                "[index_options] must be an object, got [{other}] for field [{path}]"
            )));
        }
    };
    let kind = options
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(if options.is_empty() { default_type } else { "" });
    if kind.is_empty() {
        return Err(mapper_error(format!(
            "[index_options] requires field [type] to be configured for field [{path}]"
        )));
    }
    let allowed: &[&str] = match kind {
        "hnsw" => &["type", "m", "ef_construction"],
        "int8_hnsw" | "int4_hnsw" => &["type", "m", "ef_construction", "confidence_interval", "rescore_vector"],
        "bbq_hnsw" => &["type", "m", "ef_construction", "rescore_vector"],
        "flat" => &["type"],
        "int8_flat" | "int4_flat" => &["type", "confidence_interval", "rescore_vector"],
        "bbq_flat" => &["type", "rescore_vector"],
        "bbq_disk" => &["type", "cluster_size", "default_visit_percentage", "rescore_vector"],
        other => {
            return Err(mapper_error(format!(
                "Unknown vector index options type [{other}] for field [{path}]"
            )));
        }
    };
    for key in options.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(mapper_error(format!(
                "Unknown vector index options type [{kind}] parameter [{key}] for field [{path}]"
            )));
        }
    }
    let quantized = kind.starts_with("int") || kind.starts_with("bbq");
    if quantized && element != VectorElement::Float {
        return Err(mapper_error(format!(
            "[element_type] cannot be [{}] when using index type [{kind}]",
            if element == VectorElement::Byte { "byte" } else { "bit" }
        )));
    }
    if kind.starts_with("int4") && dims.is_some_and(|dims| dims % 2 != 0) {
        return Err(mapper_error(format!(
            "int4_hnsw only supports even dimensions; provided={}",
            dims.unwrap_or(0)
        )));
    }
    if kind.starts_with("bbq") && dims.is_some_and(|dims| dims < 64) {
        return Err(mapper_error(format!(
            "{kind} does not support dimensions fewer than 64; provided={}",
            dims.unwrap_or(0)
        )));
    }
    let index_kind = if kind.ends_with("flat") {
        VectorIndexKind::Flat
    } else {
        VectorIndexKind::Hnsw {
            m: positive(options, "m", DEFAULT_M, path)?,
            ef_construction: positive(options, "ef_construction", DEFAULT_EF_CONSTRUCTION, path)?,
        }
    };
    let quantization = if quantized {
        VectorQuantization::Int8
    } else {
        VectorQuantization::None
    };
    Ok((index_kind, quantization))
}

/// Parses an ES `dense_vector` mapping.
pub fn parse_dense_vector(path: &str, params: &Map<String, Value>) -> Result<VectorParams> {
    let dims = usize_param(params, "dims", path)?;
    let element = element_of(
        &string_param(params, "element_type").unwrap_or_else(|| "float".into()),
        path,
    )?;
    if let Some(dims) = dims {
        let limit = if element == VectorElement::Bit {
            MAX_DENSE_VECTOR_DIMS * 8
        } else {
            MAX_DENSE_VECTOR_DIMS
        };
        if dims == 0 || dims > limit {
            return Err(mapper_error(format!(
                "The number of dimensions should be in the range [1, {limit}] but was [{dims}]"
            )));
        }
        if element == VectorElement::Bit && dims % 8 != 0 {
            return Err(mapper_error(format!(
                "The number of dimensions for should be a multiple of 8 but was [{dims}]"
            )));
        }
    }
    let indexed = bool_param(params, "index", true, path)?;
    let default_similarity = if element == VectorElement::Bit {
        "l2_norm"
    } else {
        "cosine"
    };
    let similarity_name = string_param(params, "similarity").unwrap_or_else(|| default_similarity.to_string());
    let similarity = match similarity_name.as_str() {
        "cosine" => VectorSimilarity::Cosine,
        "dot_product" => VectorSimilarity::DotProduct,
        "l2_norm" => VectorSimilarity::L2Norm,
        "max_inner_product" => VectorSimilarity::MaxInnerProduct,
        other => {
            return Err(mapper_error(format!(
                "Unknown value [{other}] for field [similarity] - accepted values are [l2_norm, cosine, dot_product, max_inner_product]"
            )));
        }
    };
    if element == VectorElement::Bit && similarity != VectorSimilarity::L2Norm {
        return Err(mapper_error(
            "The [l2_norm] similarity is the only supported similarity for bit vectors".to_string(),
        ));
    }
    if !indexed && (params.contains_key("similarity") || params.contains_key("index_options")) {
        return Err(mapper_error(format!(
            "Field [{}] can only be specified for a field of type [dense_vector] when it is indexed [{path}]",
            if params.contains_key("similarity") {
                "similarity"
            } else {
                "index_options"
            }
        )));
    }
    let (index_kind, quantization) = parse_index_options(params, element, dims, path)?;
    Ok(VectorParams {
        dims,
        element,
        similarity,
        indexed,
        index_kind,
        quantization,
        ef_search: None,
    })
}

/// Parses an OpenSearch `knn_vector` mapping (`dimension`, `space_type`, `method`).
pub fn parse_knn_vector(path: &str, params: &Map<String, Value>) -> Result<VectorParams> {
    let dims = usize_param(params, "dimension", path)?
        .ok_or_else(|| mapper_error(format!("Dimension value missing for vector: {path}")))?;
    if dims == 0 || dims > MAX_KNN_VECTOR_DIMS {
        return Err(mapper_error(format!(
            "Dimension value cannot be greater than {MAX_KNN_VECTOR_DIMS} or less than 1 for vector: {path}"
        )));
    }
    let empty = Map::new();
    let method = match params.get("method") {
        None => &empty,
        Some(Value::Object(method)) => method,
        Some(_) => return Err(mapper_error(format!("[method] must be an object for vector: {path}"))),
    };
    let element = element_of(
        &string_param(params, "data_type").unwrap_or_else(|| "float".into()),
        path,
    )?;
    let default_space = if element == VectorElement::Bit { "hamming" } else { "l2" };
    let space = method
        .get("space_type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| string_param(params, "space_type"))
        .unwrap_or_else(|| default_space.to_string());
    let similarity = match space.as_str() {
        "l2" => VectorSimilarity::OsL2,
        "cosinesimil" => VectorSimilarity::OsCosine,
        "innerproduct" => VectorSimilarity::OsInnerProduct,
        "l1" => VectorSimilarity::OsL1,
        "linf" => VectorSimilarity::OsLInf,
        "hamming" => VectorSimilarity::OsHamming,
        other => return Err(mapper_error(format!("Unable to find space: {other}"))),
    };
    let empty_parameters = Map::new();
    let parameters = method
        .get("parameters")
        .and_then(Value::as_object)
        .unwrap_or(&empty_parameters);
    let index_kind = match method.get("name").and_then(Value::as_str).unwrap_or("hnsw") {
        "hnsw" => VectorIndexKind::Hnsw {
            m: positive(parameters, "m", DEFAULT_M, path)?,
            ef_construction: positive(parameters, "ef_construction", DEFAULT_EF_CONSTRUCTION, path)?,
        },
        // IVF needs training; Iris serves such fields with exhaustive search.
        "flat" | "ivf" => VectorIndexKind::Flat,
        other => return Err(mapper_error(format!("Invalid method name: {other}"))),
    };
    let encoder = parameters
        .get("encoder")
        .and_then(|encoder| encoder.get("name"))
        .and_then(Value::as_str);
    let compressed = params
        .get("compression_level")
        .and_then(Value::as_str)
        .is_some_and(|level| level != "1x")
        || params.get("mode").and_then(Value::as_str) == Some("on_disk");
    let quantization = if encoder == Some("sq") || encoder == Some("pq") || compressed {
        VectorQuantization::Int8
    } else {
        VectorQuantization::None
    };
    Ok(VectorParams {
        dims: Some(dims),
        element,
        similarity,
        indexed: true,
        index_kind,
        quantization,
        ef_search: parameters
            .get("ef_search")
            .and_then(Value::as_u64)
            .map(|ef| ef as usize),
    })
}

/// Reads a document's vector value, checked the way ES checks it. Errors are the causes ES
/// reports (the caller wraps them in a document parsing error for that document only).
pub fn parse_vector_value(
    params: &VectorParams,
    value: &Value,
    path: &str,
    doc_id: &str,
) -> std::result::Result<Vec<f32>, String> {
    let components: Vec<f32> = match (value, params.element) {
        (Value::String(hex), VectorElement::Byte | VectorElement::Bit) => decode_hex(hex)?,
        (Value::Array(items), _) => items
            .iter()
            .map(|item| {
                item.as_f64().map(|number| number as f32).ok_or_else(|| {
                    format!(
                        "Failed to parse object: expecting token of type [VALUE_NUMBER] but found [{}]",
                        token_name(item)
                    )
                })
            })
            .collect::<std::result::Result<_, _>>()?,
        (other, _) => {
            return Err(format!(
                "Failed to parse object: expecting token of type [START_ARRAY] but found [{}]",
                token_name(other)
            ));
        }
    };
    if params.element != VectorElement::Float {
        let element = if params.element == VectorElement::Byte {
            "byte"
        } else {
            "bit"
        };
        for (dim, component) in components.iter().enumerate() {
            if component.fract() != 0.0 {
                return Err(format!(
                    "element_type [{element}] vectors only support non-decimal values but found decimal value [{component}] at dim [{dim}];"
                ));
            }
            if !(-128.0..=127.0).contains(component) {
                return Err(format!(
                    "element_type [{element}] vectors only support integers between [-128, 127] but found [{component}] at dim [{dim}];"
                ));
            }
        }
    }
    let provided = if params.element == VectorElement::Bit {
        components.len() * 8
    } else {
        components.len()
    };
    if let Some(dims) = params.dims
        && provided != dims
    {
        return Err(format!(
            "The [dense_vector] field [{path}] in doc [document with id '{doc_id}'] has a different number of dimensions [{provided}] than defined in the mapping [{dims}]"
        ));
    }
    check_magnitude(params, &components)?;
    Ok(components)
}

/// Checks a query vector the way ES checks query vectors (zero vectors for cosine, unit
/// length for float dot_product), with ES's messages.
pub fn check_query_vector(params: &VectorParams, vector: &[f32]) -> std::result::Result<(), String> {
    check_magnitude(params, vector)
}

/// Rejects zero vectors for cosine and non-unit float vectors for dot_product.
fn check_magnitude(params: &VectorParams, vector: &[f32]) -> std::result::Result<(), String> {
    let preview = || {
        let shown: Vec<String> = vector
            .iter()
            .take(10)
            .map(|component| format!("{component:?}"))
            .collect();
        format!("[{}{}]", shown.join(", "), if vector.len() > 10 { ", ..." } else { "" })
    };
    let magnitude = vector
        .iter()
        .map(|component| f64::from(*component).powi(2))
        .sum::<f64>()
        .sqrt();
    match params.similarity {
        VectorSimilarity::OsCosine if magnitude == 0.0 => {
            Err("zero vector is not supported when space type is [cosinesimil]".to_string())
        }
        VectorSimilarity::Cosine if magnitude == 0.0 => Err(format!(
            "The [cosine] similarity does not support vectors with zero magnitude. Preview of invalid vector: {}",
            preview()
        )),
        VectorSimilarity::DotProduct if params.element == VectorElement::Float && (magnitude - 1.0).abs() > 1e-4 => {
            Err(format!(
                "The [dot_product] similarity can only be used with unit-length vectors. Preview of invalid vector: {}",
                preview()
            ))
        }
        _ => Ok(()),
    }
}

fn token_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "VALUE_NULL",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

fn decode_hex(hex: &str) -> std::result::Result<Vec<f32>, String> {
    crate::encoding::decode_hex_vector(hex).ok_or_else(|| format!("Failed to parse object: invalid hex string [{hex}]"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dense(params: Value) -> Result<VectorParams> {
        parse_dense_vector("v", params.as_object().expect("object"))
    }

    #[test]
    fn dense_vector_defaults_follow_es() {
        let parsed = dense(json!({"type": "dense_vector", "dims": 3})).expect("valid");
        assert_eq!(parsed.similarity, VectorSimilarity::Cosine);
        assert_eq!(parsed.quantization, VectorQuantization::Int8);
        assert_eq!(
            parsed.index_kind,
            VectorIndexKind::Hnsw {
                m: 16,
                ef_construction: 100
            }
        );
        let byte = dense(json!({"type": "dense_vector", "dims": 3, "element_type": "byte"})).expect("valid");
        assert_eq!(byte.quantization, VectorQuantization::None);
    }

    #[test]
    fn index_options_are_validated() {
        let flat = dense(json!({"type": "dense_vector", "dims": 4, "index_options": {"type": "flat"}})).expect("valid");
        assert_eq!(flat.index_kind, VectorIndexKind::Flat);
        let hnsw = dense(json!({"type": "dense_vector", "dims": 4, "index_options": {"type": "hnsw", "m": 32, "ef_construction": 200}})).expect("valid");
        assert_eq!(
            hnsw.index_kind,
            VectorIndexKind::Hnsw {
                m: 32,
                ef_construction: 200
            }
        );
        assert!(dense(json!({"type": "dense_vector", "dims": 4, "index_options": {"type": "nope"}})).is_err());
        assert!(dense(json!({"type": "dense_vector", "dims": 3, "index_options": {"type": "int4_hnsw"}})).is_err());
        assert!(dense(json!({"type": "dense_vector", "dims": 32, "index_options": {"type": "bbq_hnsw"}})).is_err());
        assert!(dense(json!({"type": "dense_vector", "dims": 4, "element_type": "byte", "index_options": {"type": "int8_hnsw"}})).is_err());
        assert!(dense(json!({"type": "dense_vector", "dims": 4, "index": false, "similarity": "cosine"})).is_err());
    }

    #[test]
    fn vector_values_are_checked_like_es() {
        let cosine = dense(json!({"type": "dense_vector", "dims": 3})).expect("valid");
        assert_eq!(
            parse_vector_value(&cosine, &json!([1, 0.5, 2]), "v", "1"),
            Ok(vec![1.0, 0.5, 2.0])
        );
        let wrong = parse_vector_value(&cosine, &json!([1, 2]), "v", "1").unwrap_err();
        assert_eq!(
            wrong,
            "The [dense_vector] field [v] in doc [document with id '1'] has a different number of dimensions [2] than defined in the mapping [3]"
        );
        assert!(
            parse_vector_value(&cosine, &json!([0, 0, 0]), "v", "1")
                .unwrap_err()
                .contains("zero magnitude")
        );
        let dot = dense(json!({"type": "dense_vector", "dims": 2, "similarity": "dot_product"})).expect("valid");
        assert!(
            parse_vector_value(&dot, &json!([1, 1]), "v", "1")
                .unwrap_err()
                .contains("unit-length")
        );
        assert!(parse_vector_value(&dot, &json!([0.6, 0.8]), "v", "1").is_ok());
        let bytes = dense(json!({"type": "dense_vector", "dims": 5, "element_type": "byte", "similarity": "l2_norm"}))
            .expect("valid");
        assert_eq!(
            parse_vector_value(&bytes, &json!("8100012a7f"), "v", "1"),
            Ok(vec![-127.0, 0.0, 1.0, 42.0, 127.0])
        );
        assert!(parse_vector_value(&bytes, &json!([1, 2, 3, 4, 300]), "v", "1").is_err());
    }

    #[test]
    fn knn_vector_reads_method_and_space() {
        let parsed = parse_knn_vector(
            "v",
            json!({"type": "knn_vector", "dimension": 8, "method": {"name": "hnsw", "space_type": "innerproduct", "engine": "faiss", "parameters": {"m": 24, "ef_construction": 128}}})
                .as_object()
                .expect("object"),
        )
        .expect("valid");
        assert_eq!(parsed.similarity, VectorSimilarity::OsInnerProduct);
        assert_eq!(
            parsed.index_kind,
            VectorIndexKind::Hnsw {
                m: 24,
                ef_construction: 128
            }
        );
        let missing = parse_knn_vector("v", json!({"type": "knn_vector"}).as_object().expect("object"));
        assert_eq!(missing.unwrap_err().reason, "Dimension value missing for vector: v");
    }
}
