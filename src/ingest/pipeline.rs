//! Ingest pipeline definitions as `PUT _ingest/pipeline/{id}` accepts them, parsed once into
//! processors with ES's validation messages (`parse_exception` naming the processor type and
//! the property).

use serde_json::{Map, Value};

use crate::embed::InputKind;
use crate::error::{Error, ErrorKind, Result};

/// A parsed pipeline, with the JSON it was defined by (returned by `GET`).
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub definition: Value,
    pub processors: Vec<ProcessorSpec>,
    pub on_failure: Vec<ProcessorSpec>,
}

/// One processor with the options every processor takes.
#[derive(Debug, Clone)]
pub struct ProcessorSpec {
    pub processor: Processor,
    pub type_name: String,
    pub tag: Option<String>,
    pub ignore_failure: bool,
    pub on_failure: Vec<ProcessorSpec>,
}

#[derive(Debug, Clone)]
pub enum Processor {
    /// `set`: a value (templates allowed in strings) or a copy of another field.
    Set {
        field: String,
        value: SetValue,
        override_existing: bool,
        ignore_empty_value: bool,
    },
    /// `remove`: drops fields, or keeps only some.
    Remove {
        fields: Vec<String>,
        keep: Vec<String>,
        ignore_missing: bool,
    },
    /// `rename`: moves a field.
    Rename {
        field: String,
        target_field: String,
        ignore_missing: bool,
        override_existing: bool,
    },
    /// ES `inference`, OpenSearch `text_embedding` and `text_image_embedding`.
    Embed(EmbedProcessor),
}

#[derive(Debug, Clone)]
pub enum SetValue {
    Value(Value),
    CopyFrom(String),
}

/// Where an embedding processor reads its inputs and writes its vector.
#[derive(Debug, Clone)]
pub struct EmbedProcessor {
    pub model_id: String,
    pub mappings: Vec<EmbedMapping>,
    pub ignore_missing: bool,
}

#[derive(Debug, Clone)]
pub struct EmbedMapping {
    /// Source fields and the kind each holds (None: decided by the model and the value).
    /// `text_image_embedding` has a text and an image field whose vectors are averaged.
    pub inputs: Vec<(String, Option<InputKind>)>,
    pub output: EmbedOutput,
}

#[derive(Debug, Clone)]
pub enum EmbedOutput {
    /// The vector itself at this path.
    Field(String),
    /// ES's legacy form: `<target>.predicted_value` and `<target>.model_id`.
    Legacy(String),
}

/// Processor types ES has that Iris does not run (a clear error instead of "no processor").
const KNOWN_UNSUPPORTED: &[&str] = &[
    "append",
    "attachment",
    "bytes",
    "circle",
    "community_id",
    "convert",
    "csv",
    "date",
    "date_index_name",
    "dissect",
    "dot_expander",
    "drop",
    "enrich",
    "fail",
    "fingerprint",
    "foreach",
    "geo_grid",
    "geoip",
    "grok",
    "gsub",
    "html_strip",
    "join",
    "json",
    "kv",
    "lowercase",
    "network_direction",
    "pipeline",
    "redact",
    "registered_domain",
    "reroute",
    "script",
    "set_security_user",
    "sort",
    "split",
    "terminate",
    "trim",
    "uppercase",
    "uri_parts",
    "urldecode",
    "user_agent",
];

fn parse_error(processor_type: &str, property: Option<&str>, reason: String) -> Error {
    let mut error = Error::new(ErrorKind::Parse, reason).with_meta("processor_type", processor_type);
    if let Some(property) = property {
        error = error.with_meta("property_name", property);
    }
    error
}

fn missing(processor_type: &str, property: &str) -> Error {
    parse_error(
        processor_type,
        Some(property),
        format!("[{property}] required property is missing"),
    )
}

fn string_property(config: &Map<String, Value>, processor_type: &str, property: &str) -> Result<Option<String>> {
    match config.get(property) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(parse_error(
            processor_type,
            Some(property),
            format!(
                "[{property}] property isn't a string, but of type [{}]",
                json_type(other)
            ),
        )),
    }
}

fn required_string(config: &Map<String, Value>, processor_type: &str, property: &str) -> Result<String> {
    string_property(config, processor_type, property)?.ok_or_else(|| missing(processor_type, property))
}

fn bool_property(config: &Map<String, Value>, processor_type: &str, property: &str, default: bool) -> Result<bool> {
    match config.get(property) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(Value::String(text)) if text == "true" || text == "false" => Ok(text == "true"),
        Some(other) => Err(parse_error(
            processor_type,
            Some(property),
            format!(
                "[{property}] property isn't a boolean, but of type [{}]",
                json_type(other)
            ),
        )),
    }
}

/// A string or an array of strings (`remove.field`).
fn string_list(config: &Map<String, Value>, processor_type: &str, property: &str) -> Result<Vec<String>> {
    match config.get(property) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![text.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(parse_error(
                    processor_type,
                    Some(property),
                    format!(
                        "[{property}] property isn't a list of strings, found [{}]",
                        json_type(other)
                    ),
                )),
            })
            .collect(),
        Some(other) => Err(parse_error(
            processor_type,
            Some(property),
            format!("[{property}] property isn't a list, but of type [{}]", json_type(other)),
        )),
    }
}

/// Java's class name for a JSON value, as ES's ingest messages print it.
pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

impl Pipeline {
    /// Parses a pipeline definition (the body of `PUT _ingest/pipeline/{id}`).
    pub fn parse(definition: &Value) -> Result<Pipeline> {
        let Value::Object(body) = definition else {
            return Err(Error::new(ErrorKind::Parse, "pipeline definition must be an object"));
        };
        for key in body.keys() {
            if ![
                "description",
                "processors",
                "on_failure",
                "version",
                "_meta",
                "deprecated",
            ]
            .contains(&key.as_str())
            {
                return Err(Error::new(
                    ErrorKind::Parse,
                    format!("pipeline [{key}] doesn't support one or more provided configuration parameters [{key}]"),
                ));
            }
        }
        let processors = match body.get("processors") {
            Some(list) => parse_processor_list(list, "processors")?,
            None => return Err(missing("pipeline", "processors").with_meta("processor_type", Value::Null)),
        };
        let on_failure = match body.get("on_failure") {
            Some(list) => {
                let parsed = parse_processor_list(list, "on_failure")?;
                if parsed.is_empty() {
                    return Err(Error::new(ErrorKind::Parse, "pipeline [on_failure] cannot be empty"));
                }
                parsed
            }
            None => Vec::new(),
        };
        Ok(Pipeline {
            definition: definition.clone(),
            processors,
            on_failure,
        })
    }

    /// The embedding endpoints the pipeline's processors name (checked when it is stored).
    pub fn model_ids(&self) -> Vec<String> {
        fn collect(specs: &[ProcessorSpec], ids: &mut Vec<String>) {
            for spec in specs {
                if let Processor::Embed(embed) = &spec.processor {
                    ids.push(embed.model_id.clone());
                }
                collect(&spec.on_failure, ids);
            }
        }
        let mut ids = Vec::new();
        collect(&self.processors, &mut ids);
        collect(&self.on_failure, &mut ids);
        ids.sort();
        ids.dedup();
        ids
    }
}

fn parse_processor_list(list: &Value, name: &str) -> Result<Vec<ProcessorSpec>> {
    let Value::Array(items) = list else {
        return Err(Error::new(
            ErrorKind::Parse,
            format!("[{name}] property isn't a list, but of type [{}]", json_type(list)),
        ));
    };
    items.iter().map(parse_processor).collect()
}

fn parse_processor(item: &Value) -> Result<ProcessorSpec> {
    let Some((type_name, config)) = item
        .as_object()
        .filter(|object| object.len() == 1)
        .and_then(|object| object.iter().next())
    else {
        return Err(Error::new(
            ErrorKind::Parse,
            "a processor must be an object with exactly one key, the processor type",
        ));
    };
    let Value::Object(config) = config else {
        return Err(parse_error(
            type_name,
            None,
            format!("[{type_name}] processor configuration must be an object"),
        ));
    };
    if config.contains_key("if") {
        return Err(parse_error(
            type_name,
            Some("if"),
            "[if] conditions need Painless scripts, which Iris does not run".to_string(),
        ));
    }
    let tag = string_property(config, type_name, "tag")?;
    let ignore_failure = bool_property(config, type_name, "ignore_failure", false)?;
    let on_failure = match config.get("on_failure") {
        Some(list) => parse_processor_list(list, "on_failure")?,
        None => Vec::new(),
    };
    let common = ["tag", "ignore_failure", "on_failure", "description"];
    let (processor, allowed): (Processor, &[&str]) = match type_name.as_str() {
        "set" => (
            parse_set(config)?,
            &[
                "field",
                "value",
                "copy_from",
                "override",
                "ignore_empty_value",
                "media_type",
            ],
        ),
        "remove" => (parse_remove(config)?, &["field", "keep", "ignore_missing"]),
        "rename" => (
            parse_rename(config)?,
            &["field", "target_field", "ignore_missing", "override"],
        ),
        "inference" => (
            parse_inference(config, tag.as_deref())?,
            &[
                "model_id",
                "input_output",
                "field_map",
                "target_field",
                "inference_config",
                "ignore_missing",
            ],
        ),
        "text_embedding" => (
            parse_text_embedding(config)?,
            &["model_id", "field_map", "batch_size", "ignore_missing"],
        ),
        "text_image_embedding" => (
            parse_text_image_embedding(config)?,
            &["model_id", "embedding", "field_map", "batch_size", "ignore_missing"],
        ),
        other if KNOWN_UNSUPPORTED.contains(&other) => {
            return Err(parse_error(
                other,
                None,
                format!(
                    "the [{other}] processor is not supported by Iris; supported processors: set, remove, rename, inference, text_embedding, text_image_embedding"
                ),
            ));
        }
        other => {
            return Err(parse_error(
                other,
                None,
                format!("No processor type exists with name [{other}]"),
            ));
        }
    };
    let unknown: Vec<&str> = config
        .keys()
        .map(String::as_str)
        .filter(|key| !common.contains(key) && !allowed.contains(key))
        .collect();
    if !unknown.is_empty() {
        return Err(parse_error(
            type_name,
            None,
            format!(
                "processor [{type_name}] doesn't support one or more provided configuration parameters {:?}",
                unknown
            ),
        ));
    }
    Ok(ProcessorSpec {
        processor,
        type_name: type_name.clone(),
        tag,
        ignore_failure,
        on_failure,
    })
}

fn parse_set(config: &Map<String, Value>) -> Result<Processor> {
    let field = required_string(config, "set", "field")?;
    let copy_from = string_property(config, "set", "copy_from")?;
    let value = match (config.get("value"), copy_from) {
        (Some(_), Some(_)) => {
            return Err(parse_error(
                "set",
                Some("copy_from"),
                "[copy_from] cannot set both `copy_from` and `value` in the same processor".to_string(),
            ));
        }
        (Some(value), None) => SetValue::Value(value.clone()),
        (None, Some(from)) => SetValue::CopyFrom(from),
        (None, None) => return Err(missing("set", "value")),
    };
    Ok(Processor::Set {
        field,
        value,
        override_existing: bool_property(config, "set", "override", true)?,
        ignore_empty_value: bool_property(config, "set", "ignore_empty_value", false)?,
    })
}

fn parse_remove(config: &Map<String, Value>) -> Result<Processor> {
    let fields = string_list(config, "remove", "field")?;
    let keep = string_list(config, "remove", "keep")?;
    if fields.is_empty() && keep.is_empty() {
        return Err(parse_error(
            "remove",
            None,
            "[keep] or [field] must be specified".to_string(),
        ));
    }
    if !fields.is_empty() && !keep.is_empty() {
        return Err(parse_error(
            "remove",
            None,
            "[keep] and [field] cannot both be used in the same processor".to_string(),
        ));
    }
    Ok(Processor::Remove {
        fields,
        keep,
        ignore_missing: bool_property(config, "remove", "ignore_missing", false)?,
    })
}

fn parse_rename(config: &Map<String, Value>) -> Result<Processor> {
    Ok(Processor::Rename {
        field: required_string(config, "rename", "field")?,
        target_field: required_string(config, "rename", "target_field")?,
        ignore_missing: bool_property(config, "rename", "ignore_missing", false)?,
        override_existing: bool_property(config, "rename", "override", false)?,
    })
}

/// ES `inference`: `input_output` (each input field's vector at its output field) or the
/// legacy `field_map` + `target_field` (`<target>.predicted_value`).
fn parse_inference(config: &Map<String, Value>, tag: Option<&str>) -> Result<Processor> {
    let model_id = required_string(config, "inference", "model_id")?;
    let ignore_missing = bool_property(config, "inference", "ignore_missing", false)?;
    let mut mappings = Vec::new();
    match config.get("input_output") {
        Some(value) => {
            if config.contains_key("field_map") || config.contains_key("target_field") {
                return Err(parse_error(
                    "inference",
                    Some("input_output"),
                    "[input_output] cannot be used with [field_map] or [target_field]".to_string(),
                ));
            }
            let entries: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(_) => vec![value],
                other => {
                    return Err(parse_error(
                        "inference",
                        Some("input_output"),
                        format!(
                            "[input_output] property isn't a list, but of type [{}]",
                            json_type(other)
                        ),
                    ));
                }
            };
            if entries.is_empty() {
                return Err(parse_error(
                    "inference",
                    Some("input_output"),
                    "[input_output] property cannot be empty".to_string(),
                ));
            }
            for entry in entries {
                let Value::Object(entry) = entry else {
                    return Err(parse_error(
                        "inference",
                        Some("input_output"),
                        "[input_output] entries must be objects".to_string(),
                    ));
                };
                let input = required_string(entry, "inference", "input_field")?;
                let output = required_string(entry, "inference", "output_field")?;
                mappings.push(EmbedMapping {
                    inputs: vec![(input, None)],
                    output: EmbedOutput::Field(output),
                });
            }
        }
        None => {
            let target = string_property(config, "inference", "target_field")?
                .unwrap_or_else(|| tag.map_or_else(|| "ml.inference".to_string(), |tag| format!("ml.inference.{tag}")));
            let Some(Value::Object(field_map)) = config.get("field_map") else {
                return Err(missing("inference", "input_output"));
            };
            for (source_field, _model_input) in field_map {
                mappings.push(EmbedMapping {
                    inputs: vec![(source_field.clone(), None)],
                    output: EmbedOutput::Legacy(target.clone()),
                });
            }
            if mappings.len() != 1 {
                return Err(parse_error(
                    "inference",
                    Some("field_map"),
                    "[field_map] must map exactly one field to the model's input".to_string(),
                ));
            }
        }
    }
    Ok(Processor::Embed(EmbedProcessor {
        model_id,
        mappings,
        ignore_missing,
    }))
}

/// OpenSearch `text_embedding`: `field_map` from text fields to vector fields.
fn parse_text_embedding(config: &Map<String, Value>) -> Result<Processor> {
    let model_id = required_string(config, "text_embedding", "model_id")?;
    let Some(Value::Object(field_map)) = config.get("field_map") else {
        return Err(missing("text_embedding", "field_map"));
    };
    let mut mappings = Vec::new();
    for (input, output) in field_map {
        let Value::String(output) = output else {
            return Err(parse_error(
                "text_embedding",
                Some("field_map"),
                format!("[field_map] the target of [{input}] must be a field name"),
            ));
        };
        mappings.push(EmbedMapping {
            inputs: vec![(input.clone(), Some(InputKind::Text))],
            output: EmbedOutput::Field(output.clone()),
        });
    }
    if mappings.is_empty() {
        return Err(missing("text_embedding", "field_map"));
    }
    Ok(Processor::Embed(EmbedProcessor {
        model_id,
        mappings,
        ignore_missing: bool_property(config, "text_embedding", "ignore_missing", true)?,
    }))
}

/// OpenSearch `text_image_embedding`: one vector from a text field and an image field.
fn parse_text_image_embedding(config: &Map<String, Value>) -> Result<Processor> {
    let processor_type = "text_image_embedding";
    let model_id = required_string(config, processor_type, "model_id")?;
    let output = required_string(config, processor_type, "embedding")?;
    let Some(Value::Object(field_map)) = config.get("field_map") else {
        return Err(missing(processor_type, "field_map"));
    };
    let mut inputs = Vec::new();
    for (key, value) in field_map {
        let kind = match key.as_str() {
            "text" => InputKind::Text,
            "image" => InputKind::Image,
            other => {
                return Err(parse_error(
                    processor_type,
                    Some("field_map"),
                    format!("[field_map] unsupported key [{other}]: use [text] and [image]"),
                ));
            }
        };
        let Value::String(field) = value else {
            return Err(parse_error(
                processor_type,
                Some("field_map"),
                format!("[field_map] [{key}] must be a field name"),
            ));
        };
        inputs.push((field.clone(), Some(kind)));
    }
    if inputs.is_empty() {
        return Err(missing(processor_type, "field_map"));
    }
    Ok(Processor::Embed(EmbedProcessor {
        model_id,
        mappings: vec![EmbedMapping {
            inputs,
            output: EmbedOutput::Field(output),
        }],
        ignore_missing: true,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_each_processor_and_its_options() {
        let pipeline = Pipeline::parse(&json!({
            "description": "d",
            "processors": [
                {"set": {"field": "a", "value": "{{b}}", "tag": "t1"}},
                {"remove": {"field": ["x", "y"], "ignore_missing": true}},
                {"rename": {"field": "r", "target_field": "s"}},
                {"inference": {"model_id": "m", "input_output": [{"input_field": "img", "output_field": "vec"}]}},
                {"text_embedding": {"model_id": "m2", "field_map": {"caption": "caption_vec"}}},
                {"text_image_embedding": {"model_id": "m3", "embedding": "v", "field_map": {"text": "c", "image": "i"}}}
            ],
            "on_failure": [{"set": {"field": "error", "value": "{{_ingest.on_failure_message}}"}}]
        }))
        .expect("valid");
        assert_eq!(pipeline.processors.len(), 6);
        assert_eq!(pipeline.processors[0].tag.as_deref(), Some("t1"));
        assert_eq!(pipeline.model_ids(), vec!["m", "m2", "m3"]);
        assert_eq!(pipeline.on_failure.len(), 1);
    }

    #[test]
    fn errors_name_the_processor_and_property() {
        let error = Pipeline::parse(&json!({"processors": [{"set": {"value": 1}}]})).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Parse);
        assert_eq!(error.reason, "[field] required property is missing");
        let error = Pipeline::parse(&json!({"processors": [{"bogus": {}}]})).unwrap_err();
        assert_eq!(error.reason, "No processor type exists with name [bogus]");
        let error = Pipeline::parse(&json!({"processors": [{"grok": {}}]})).unwrap_err();
        assert!(error.reason.contains("not supported by Iris"), "{}", error.reason);
        let error =
            Pipeline::parse(&json!({"processors": [{"set": {"field": "a", "value": 1, "nope": 2}}]})).unwrap_err();
        assert!(error.reason.contains("[\"nope\"]"), "{}", error.reason);
        let error = Pipeline::parse(&json!({"processors": [{"inference": {"model_id": "m"}}]})).unwrap_err();
        assert_eq!(error.reason, "[input_output] required property is missing");
    }

    #[test]
    fn legacy_inference_target_defaults_to_ml_inference() {
        let pipeline = Pipeline::parse(&json!({"processors": [
            {"inference": {"model_id": "m", "tag": "t", "field_map": {"body": "text_field"}}}
        ]}))
        .expect("valid");
        let Processor::Embed(embed) = &pipeline.processors[0].processor else {
            panic!("embed processor");
        };
        assert!(matches!(&embed.mappings[0].output, EmbedOutput::Legacy(target) if target == "ml.inference.t"));
    }
}
