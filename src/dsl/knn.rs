//! kNN in both dialects: ES's top-level `knn` option and `knn` query
//! (`{"field": .., "query_vector": [..], "k", "num_candidates", "filter", "similarity"}`) and
//! OpenSearch's `knn` query (`{"<field>": {"vector": [..], "k", "filter", "min_score" |
//! "max_distance", "method_parameters": {"ef_search"}}}`).
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/knn-search.html>

use serde_json::{Map, Value};

use super::common::{boost_of, number_f32};
use super::parse_query;
use crate::error::{Error, Result};
use crate::query::ast::{KnnClause, KnnLimit, QueryInput, VectorSource};

/// ES's cap on `num_candidates` (and so on `k`).
pub const NUM_CANDIDATES_LIMIT: usize = 10_000;

fn filters(value: Option<&Value>) -> Result<Vec<crate::query::QueryAst>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(parse_query).collect(),
        Some(single) => Ok(vec![parse_query(single)?]),
    }
}

fn vector(value: &Value, key: &str) -> Result<Vec<f32>> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_f64()
                    .map(|number| number as f32)
                    .ok_or_else(|| Error::x_content(format!("[1:1] [knn] failed to parse field [{key}]")))
            })
            .collect(),
        // Byte and bit query vectors may be hex strings, as in documents.
        Value::String(hex) => crate::encoding::decode_hex_vector(hex)
            .ok_or_else(|| Error::x_content(format!("[1:1] [knn] failed to parse field [{key}]"))),
        _ => Err(Error::x_content(format!("[1:1] [knn] failed to parse field [{key}]"))),
    }
}

fn count(object: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_i64() {
            Some(number) if number > 0 => Ok(Some(number as usize)),
            Some(_) => Err(Error::illegal_argument(format!("[{key}] must be greater than 0"))),
            None => Err(Error::x_content(format!("[1:1] [knn] failed to parse field [{key}]"))),
        },
    }
}

/// Checks ES's `k` / `num_candidates` rules once both are known.
pub fn validate_limits(k: usize, num_candidates: usize) -> Result<()> {
    if num_candidates > NUM_CANDIDATES_LIMIT {
        return Err(Error::illegal_argument(format!(
            "[num_candidates] cannot exceed [{NUM_CANDIDATES_LIMIT}]"
        )));
    }
    if num_candidates < k {
        return Err(Error::illegal_argument("[num_candidates] cannot be less than [k]"));
    }
    Ok(())
}

/// Parses `query_vector_builder`: `text_embedding` {model_id, model_text}, the 9.4
/// `embedding` {inference_id, input: text or {type, format, value}} (an image `value` may
/// also be a URL or data URL, an Iris extension) and `lookup` {index, id, path}.
fn parse_query_vector_builder(value: &Value) -> Result<VectorSource> {
    let Some((name, body)) = value
        .as_object()
        .filter(|object| object.len() == 1)
        .and_then(|object| object.iter().next())
    else {
        return Err(Error::illegal_argument(
            "[query_vector_builder] must hold exactly one builder: [text_embedding], [embedding] or [lookup]",
        ));
    };
    let Value::Object(body) = body else {
        return Err(Error::x_content(format!("[1:1] [{name}] must be an object")));
    };
    let text = |key: &str| -> Result<String> {
        match body.get(key) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(Error::x_content(format!(
                "[1:1] [{name}] failed to parse field [{key}]"
            ))),
            None => Err(Error::illegal_argument(format!("[{name}] requires [{key}]"))),
        }
    };
    let check_keys = |allowed: &[&str]| -> Result<()> {
        match body.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(Error::x_content(format!("[1:1] [{name}] unknown field [{key}]"))),
            None => Ok(()),
        }
    };
    match name.as_str() {
        "text_embedding" => {
            check_keys(&["model_id", "model_text"])?;
            Ok(VectorSource::Embed {
                model_id: text("model_id")?,
                inputs: vec![QueryInput::Text(text("model_text")?)],
            })
        }
        "embedding" => {
            check_keys(&["inference_id", "input", "timeout"])?;
            let input = match body.get("input") {
                Some(Value::String(text)) => QueryInput::Text(text.clone()),
                Some(Value::Object(input)) => {
                    let kind = input.get("type").and_then(Value::as_str).unwrap_or("text");
                    let Some(Value::String(content)) = input.get("value") else {
                        return Err(Error::illegal_argument("[embedding] [input] requires a string [value]"));
                    };
                    match (kind, input.get("format").and_then(Value::as_str)) {
                        ("text", None | Some("text")) => QueryInput::Text(content.clone()),
                        ("image", None | Some("base64") | Some("url")) => QueryInput::Image(content.clone()),
                        (kind, format) => {
                            return Err(Error::illegal_argument(format!(
                                "[embedding] unsupported input type [{kind}] with format [{}]: use type [text], or type [image] with format [base64]",
                                format.unwrap_or("none")
                            )));
                        }
                    }
                }
                Some(_) => return Err(Error::x_content("[1:1] [embedding] failed to parse field [input]")),
                None => return Err(Error::illegal_argument("[embedding] requires [input]")),
            };
            Ok(VectorSource::Embed {
                model_id: text("inference_id")?,
                inputs: vec![input],
            })
        }
        "lookup" => {
            check_keys(&["index", "id", "path", "routing"])?;
            Ok(VectorSource::Lookup {
                index: text("index")?,
                id: text("id")?,
                path: text("path")?,
            })
        }
        other => Err(Error::illegal_argument(format!(
            "unknown query vector builder [{other}]: use [text_embedding], [embedding] or [lookup]"
        ))),
    }
}

/// Parses OpenSearch's `neural` query: `{"neural": {"<field>": {"query_text" and/or
/// "query_image" (base64), "model_id", "k" | "min_score" | "max_distance", "filter"}}}`,
/// a kNN clause whose vector the model makes (the mean when both a text and an image are
/// given, as multimodal models combine them).
pub fn parse_neural(value: &Value) -> Result<KnnClause> {
    let Some(object) = value.as_object() else {
        return Err(Error::parsing(
            "[neural] query malformed, no start_object after query name",
        ));
    };
    let mut entries = object.iter();
    let (Some((field, body)), None) = (entries.next(), entries.next()) else {
        return Err(Error::parsing("[neural] query must name exactly one field"));
    };
    let Value::Object(body) = body else {
        return Err(Error::parsing(format!(
            "[neural] query for field [{field}] must be an object"
        )));
    };
    const KEYS: &[&str] = &[
        "query_text",
        "query_image",
        "model_id",
        "k",
        "min_score",
        "max_distance",
        "filter",
        "boost",
        "_name",
        "method_parameters",
        "rescore",
        "expand_nested_docs",
    ];
    if let Some(key) = body.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(Error::parsing(format!("[neural] unknown field [{key}]")));
    }
    let mut inputs = Vec::new();
    if let Some(text) = body.get("query_text") {
        let Value::String(text) = text else {
            return Err(Error::parsing("[neural] [query_text] must be a string"));
        };
        inputs.push(QueryInput::Text(text.clone()));
    }
    if let Some(image) = body.get("query_image") {
        let Value::String(image) = image else {
            return Err(Error::parsing("[neural] [query_image] must be a string"));
        };
        inputs.push(QueryInput::Image(image.clone()));
    }
    if inputs.is_empty() {
        return Err(Error::illegal_argument(
            "[neural] Either query_text or query_image must be provided",
        ));
    }
    let Some(Value::String(model_id)) = body.get("model_id") else {
        return Err(Error::illegal_argument(
            "[neural] model_id must be provided (Iris has no default model for neural queries)",
        ));
    };
    // The remaining options are the OpenSearch `knn` query's.
    let mut knn_body = body.clone();
    knn_body.remove("query_text");
    knn_body.remove("query_image");
    knn_body.remove("model_id");
    if !["k", "min_score", "max_distance"]
        .iter()
        .any(|key| knn_body.contains_key(*key))
    {
        knn_body.insert("k".to_string(), Value::from(10));
    }
    knn_body.insert("vector".to_string(), Value::Array(Vec::new()));
    let mut wrapper = Map::new();
    wrapper.insert(field.clone(), Value::Object(knn_body));
    let mut clause = parse_opensearch_knn(&wrapper)?;
    clause.query_vector = Vec::new();
    clause.vector_source = Some(VectorSource::Embed {
        model_id: model_id.clone(),
        inputs,
    });
    Ok(clause)
}

/// Parses an ES kNN object: the top-level `knn` option or the `knn` query.
pub fn parse_es_knn(value: &Value) -> Result<KnnClause> {
    let Value::Object(object) = value else {
        return Err(Error::parsing("[knn] must be an object"));
    };
    const KEYS: &[&str] = &[
        "field",
        "query_vector",
        "query_vector_builder",
        "k",
        "num_candidates",
        "filter",
        "similarity",
        "boost",
        "_name",
        "rescore_vector",
        "inner_hits",
        "visit_percentage",
    ];
    for key in object.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(Error::x_content(format!("[1:1] [knn] unknown field [{key}]")));
        }
    }
    if object.contains_key("inner_hits") {
        return Err(Error::illegal_argument(
            "[knn] [inner_hits] is not supported by Iris (no nested fields)",
        ));
    }
    let Some(field) = object.get("field").and_then(Value::as_str) else {
        return Err(Error::illegal_argument("[knn] requires [field]"));
    };
    let (query_vector, vector_source) = match (object.get("query_vector"), object.get("query_vector_builder")) {
        (Some(_), Some(_)) => {
            return Err(Error::illegal_argument(
                "cannot provide both [query_vector] and [query_vector_builder]",
            ));
        }
        (Some(query_vector), None) => (vector(query_vector, "query_vector")?, None),
        (None, Some(builder)) => (Vec::new(), Some(parse_query_vector_builder(builder)?)),
        (None, None) => {
            return Err(Error::illegal_argument(
                "either [query_vector] or [query_vector_builder] must be provided",
            ));
        }
    };
    let k = count(object, "k")?;
    let num_candidates = count(object, "num_candidates")?;
    if let Some(k) = k {
        validate_limits(
            k,
            num_candidates.unwrap_or(NUM_CANDIDATES_LIMIT.min(k.saturating_mul(3) / 2).max(k)),
        )?;
    } else if let Some(num_candidates) = num_candidates {
        validate_limits(0, num_candidates)?;
    }
    Ok(KnnClause {
        field: field.to_string(),
        query_vector,
        vector_source,
        k,
        num_candidates,
        filter: filters(object.get("filter"))?,
        limit: object
            .get("similarity")
            .map(|value| {
                number_f32(value).ok_or_else(|| Error::x_content("[1:1] [knn] failed to parse field [similarity]"))
            })
            .transpose()?
            .map_or(KnnLimit::None, KnnLimit::EsSimilarity),
        ef_search: None,
        boost: boost_of(object, "knn")?,
        name: object.get("_name").and_then(Value::as_str).map(str::to_string),
    })
}

/// Parses OpenSearch's `{"knn": {"<field>": {...}}}` query.
pub fn parse_opensearch_knn(object: &Map<String, Value>) -> Result<KnnClause> {
    let mut entries = object.iter();
    let (Some((field, body)), None) = (entries.next(), entries.next()) else {
        return Err(Error::parsing("[knn] query must name exactly one field"));
    };
    let Value::Object(body) = body else {
        return Err(Error::parsing(format!(
            "[knn] query for field [{field}] must be an object"
        )));
    };
    const KEYS: &[&str] = &[
        "vector",
        "k",
        "filter",
        "min_score",
        "max_distance",
        "method_parameters",
        "boost",
        "_name",
        "rescore",
        "expand_nested_docs",
        "ignore_unmapped",
    ];
    for key in body.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(Error::parsing(format!("[knn] unknown token [{key}] after [{field}]")));
        }
    }
    let Some(raw_vector) = body.get("vector") else {
        return Err(Error::illegal_argument(format!(
            "[knn] requires 'vector' to be non-null for field [{field}]"
        )));
    };
    let k = count(body, "k")?;
    let min_score = body.get("min_score").and_then(number_f32);
    let max_distance = body.get("max_distance").and_then(number_f32);
    let limits = usize::from(k.is_some()) + usize::from(min_score.is_some()) + usize::from(max_distance.is_some());
    if limits != 1 {
        return Err(Error::illegal_argument(
            "[knn] requires exactly one of k, distance or score to be set",
        ));
    }
    if k.is_some_and(|k| k > NUM_CANDIDATES_LIMIT) {
        return Err(Error::illegal_argument(format!(
            "[knn] requires k to be in the range (0, {NUM_CANDIDATES_LIMIT}]"
        )));
    }
    let ef_search = body
        .get("method_parameters")
        .and_then(|parameters| parameters.get("ef_search"))
        .and_then(Value::as_u64)
        .map(|ef| ef as usize);
    Ok(KnnClause {
        field: field.clone(),
        query_vector: vector(raw_vector, "vector")?,
        vector_source: None,
        k,
        num_candidates: None,
        filter: filters(body.get("filter"))?,
        limit: match (min_score, max_distance) {
            (Some(score), _) => KnnLimit::OsMinScore(score),
            (_, Some(distance)) => KnnLimit::OsMaxDistance(distance),
            _ => KnnLimit::None,
        },
        ef_search,
        boost: boost_of(body, "knn")?,
        name: body.get("_name").and_then(Value::as_str).map(str::to_string),
    })
}

/// Parses the `knn` query in either dialect (ES names the field under `field`).
pub fn parse_knn_query(value: &Value) -> Result<KnnClause> {
    match value {
        Value::Object(object) if object.contains_key("field") => parse_es_knn(value),
        Value::Object(object) => parse_opensearch_knn(object),
        _ => Err(Error::parsing(
            "[knn] query malformed, no start_object after query name",
        )),
    }
}

/// Parses the top-level `knn` option: one object or an array of them.
pub fn parse_top_level_knn(value: &Value) -> Result<Vec<KnnClause>> {
    match value {
        Value::Array(items) => items.iter().map(parse_es_knn).collect(),
        single => Ok(vec![parse_es_knn(single)?]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn es_knn_parses_and_validates_like_es() {
        let clause = parse_es_knn(&json!({"field": "v", "query_vector": [1, 2], "k": 3, "num_candidates": 10, "boost": 0.5, "_name": "img", "similarity": 0.8})).expect("valid");
        assert_eq!(clause.query_vector, vec![1.0, 2.0]);
        assert_eq!((clause.k, clause.num_candidates), (Some(3), Some(10)));
        assert_eq!(clause.limit, KnnLimit::EsSimilarity(0.8));
        assert_eq!(clause.name.as_deref(), Some("img"));
        let error =
            parse_es_knn(&json!({"field": "v", "query_vector": [1], "k": 10, "num_candidates": 5})).unwrap_err();
        assert_eq!(error.reason, "[num_candidates] cannot be less than [k]");
        let error =
            parse_es_knn(&json!({"field": "v", "query_vector": [1], "k": 10, "num_candidates": 10001})).unwrap_err();
        assert_eq!(error.reason, "[num_candidates] cannot exceed [10000]");
        let error = parse_es_knn(&json!({"field": "v", "query_vector": [1], "k": 0})).unwrap_err();
        let built = parse_es_knn(&json!({"field": "v", "k": 3, "query_vector_builder": {"text_embedding": {"model_id": "m", "model_text": "a cat"}}})).expect("builder");
        assert_eq!(
            built.vector_source,
            Some(VectorSource::Embed {
                model_id: "m".into(),
                inputs: vec![QueryInput::Text("a cat".into())]
            })
        );
        let image = parse_es_knn(&json!({"field": "v", "query_vector_builder": {"embedding": {"inference_id": "m", "input": {"type": "image", "format": "base64", "value": "AAAA"}}}})).expect("builder");
        assert_eq!(
            image.vector_source,
            Some(VectorSource::Embed {
                model_id: "m".into(),
                inputs: vec![QueryInput::Image("AAAA".into())]
            })
        );
        let lookup = parse_es_knn(
            &json!({"field": "v", "query_vector_builder": {"lookup": {"index": "i", "id": "1", "path": "v"}}}),
        )
        .expect("builder");
        assert!(matches!(lookup.vector_source, Some(VectorSource::Lookup { .. })));
        let neural =
            parse_neural(&json!({"v": {"query_text": "a cat", "query_image": "AAAA", "model_id": "m", "k": 5}}))
                .expect("neural");
        assert_eq!(neural.k, Some(5));
        assert!(matches!(&neural.vector_source, Some(VectorSource::Embed { inputs, .. }) if inputs.len() == 2));
        assert!(
            parse_neural(&json!({"v": {"model_id": "m"}}))
                .unwrap_err()
                .reason
                .contains("query_text or query_image")
        );
        assert_eq!(error.reason, "[k] must be greater than 0");
        assert!(
            parse_es_knn(&json!({"field": "v", "query_vector_builder": {}}))
                .unwrap_err()
                .reason
                .contains("exactly one builder")
        );
        assert!(parse_es_knn(&json!({"field": "v", "query_vector": [1], "bogus": 1})).is_err());
    }

    #[test]
    fn opensearch_knn_parses_field_keyed_form() {
        let clause = parse_knn_query(&json!({"v": {"vector": [1, 2], "k": 5, "method_parameters": {"ef_search": 64}}}))
            .expect("valid");
        assert_eq!(clause.field, "v");
        assert_eq!(clause.k, Some(5));
        assert_eq!(clause.ef_search, Some(64));
        let radial = parse_knn_query(&json!({"v": {"vector": [1], "max_distance": 2.0}})).expect("valid");
        assert_eq!(radial.limit, KnnLimit::OsMaxDistance(2.0));
        assert!(parse_knn_query(&json!({"v": {"vector": [1], "k": 2, "min_score": 0.5}})).is_err());
    }

    #[test]
    fn top_level_accepts_arrays_and_hex() {
        let clauses =
            parse_top_level_knn(&json!([{"field": "a", "query_vector": [1]}, {"field": "b", "query_vector": "7f81"}]))
                .expect("valid");
        assert_eq!(clauses.len(), 2);
        assert_eq!(clauses[1].query_vector, vec![127.0, -127.0]);
    }
}
