//! Runs pipelines over batches of documents. Processors run in order over the whole batch,
//! so an embedding processor makes one model call for all the documents of a bulk request
//! (images fetched concurrently first). A failure stays with its document: the processor's
//! `on_failure`, its `ignore_failure`, or the pipeline's `on_failure`, as in ES.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use super::document::{FailureInfo, IngestDocument};
use super::image_source::ImageFetcher;
use super::pipeline::{EmbedOutput, EmbedProcessor, Pipeline, Processor, ProcessorSpec, SetValue};
use crate::embed::{EmbedInput, InputKind, ModelInfo, SharedEmbedder};
use crate::error::{Error, Result};

/// What processors may call.
#[derive(Clone)]
pub struct IngestServices {
    pub embedder: SharedEmbedder,
    pub fetcher: Arc<ImageFetcher>,
}

/// A document that failed in a processor, as it was then.
#[derive(Debug)]
pub struct Failed {
    pub document: IngestDocument,
    pub error: Error,
    pub processor_type: String,
    pub tag: Option<String>,
}

type Outcome = std::result::Result<IngestDocument, Box<Failed>>;
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs a pipeline over `documents`; each comes back transformed or with its error.
pub async fn run_pipeline(
    pipeline: &Pipeline,
    documents: Vec<IngestDocument>,
    services: &IngestServices,
) -> Vec<Result<IngestDocument>> {
    let outcomes = run_processors(&pipeline.processors, documents, services).await;
    let mut results = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Ok(document) => results.push(Ok(document)),
            Err(failed) if pipeline.on_failure.is_empty() => results.push(Err(failed.error)),
            Err(failed) => {
                // The pipeline's handlers run and the document goes on to be indexed.
                let mut document = failed.document;
                document.failure = Some(FailureInfo {
                    message: failed.error.reason.clone(),
                    processor_type: failed.processor_type,
                    processor_tag: failed.tag,
                });
                let handled = run_processors(&pipeline.on_failure, vec![document], services).await;
                results.extend(handled.into_iter().map(|outcome| {
                    outcome
                        .map(|mut document| {
                            document.failure = None;
                            document
                        })
                        .map_err(|failed| failed.error)
                }));
            }
        }
    }
    results
}

/// Runs `specs` in order over the batch; a failing document leaves the batch with its error
/// unless the processor handles it.
fn run_processors<'a>(
    specs: &'a [ProcessorSpec],
    documents: Vec<IngestDocument>,
    services: &'a IngestServices,
) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let mut slots: Vec<Option<Outcome>> = documents.into_iter().map(|document| Some(Ok(document))).collect();
        for spec in specs {
            let active: Vec<usize> = (0..slots.len())
                .filter(|position| matches!(slots[*position], Some(Ok(_))))
                .collect();
            if active.is_empty() {
                break;
            }
            let mut batch: Vec<IngestDocument> = active
                .iter()
                .map(|position| match slots[*position].take() {
                    Some(Ok(document)) => document,
                    _ => unreachable!("active slots hold documents"),
                })
                .collect();
            let errors = apply(spec, &mut batch, services).await;
            for ((position, document), error) in active.into_iter().zip(batch).zip(errors) {
                slots[position] = Some(match error {
                    None => Ok(document),
                    Some(_) if spec.ignore_failure => Ok(document),
                    Some(error) => handle_failure(spec, document, error, services).await,
                });
            }
        }
        slots
            .into_iter()
            .map(|slot| slot.expect("every slot is filled after each processor"))
            .collect()
    })
}

/// A processor's own `on_failure` handlers, or the failure passed up.
async fn handle_failure(
    spec: &ProcessorSpec,
    mut document: IngestDocument,
    error: Error,
    services: &IngestServices,
) -> Outcome {
    if spec.on_failure.is_empty() {
        return Err(Box::new(Failed {
            document,
            error,
            processor_type: spec.type_name.clone(),
            tag: spec.tag.clone(),
        }));
    }
    document.failure = Some(FailureInfo {
        message: error.reason.clone(),
        processor_type: spec.type_name.clone(),
        processor_tag: spec.tag.clone(),
    });
    let mut handled = run_processors(&spec.on_failure, vec![document], services).await;
    match handled.pop() {
        Some(Ok(mut document)) => {
            document.failure = None;
            Ok(document)
        }
        Some(Err(failed)) => Err(failed),
        None => unreachable!("one document in, one outcome out"),
    }
}

/// Applies one processor to a batch; the error of each document (None: it went through).
async fn apply(spec: &ProcessorSpec, batch: &mut [IngestDocument], services: &IngestServices) -> Vec<Option<Error>> {
    match &spec.processor {
        Processor::Embed(embed) => embed_batch(embed, batch, services).await,
        simple => batch
            .iter_mut()
            .map(|document| apply_simple(simple, document).err())
            .collect(),
    }
}

fn apply_simple(processor: &Processor, document: &mut IngestDocument) -> Result<()> {
    match processor {
        Processor::Set {
            field,
            value,
            override_existing,
            ignore_empty_value,
        } => {
            let rendered = match value {
                SetValue::Value(value) => document.render(value),
                SetValue::CopyFrom(from) => document.get(from).ok_or_else(|| {
                    Error::illegal_argument(format!("field [{from}] not present as part of path [{from}]"))
                })?,
            };
            let empty = matches!(&rendered, Value::Null) || rendered.as_str().is_some_and(str::is_empty);
            if *ignore_empty_value && empty {
                return Ok(());
            }
            let field = document.render_template_field(field);
            if !override_existing && document.get(&field).is_some_and(|existing| !existing.is_null()) {
                return Ok(());
            }
            document.set(&field, rendered).map_err(Error::illegal_argument)
        }
        Processor::Remove {
            fields,
            keep,
            ignore_missing,
        } => {
            if !keep.is_empty() {
                let kept: Vec<(String, Value)> = keep
                    .iter()
                    .filter_map(|path| document.get(path).map(|value| (path.clone(), value)))
                    .collect();
                document.source.clear();
                for (path, value) in kept {
                    document.set(&path, value).map_err(Error::illegal_argument)?;
                }
                return Ok(());
            }
            for field in fields {
                if document.remove(field).is_none() && !ignore_missing {
                    return Err(Error::illegal_argument(format!(
                        "field [{field}] not present as part of path [{field}]"
                    )));
                }
            }
            Ok(())
        }
        Processor::Rename {
            field,
            target_field,
            ignore_missing,
            override_existing,
        } => {
            let Some(value) = document.get(field) else {
                if *ignore_missing {
                    return Ok(());
                }
                return Err(Error::illegal_argument(format!("field [{field}] doesn't exist")));
            };
            if document.get(target_field).is_some() && !override_existing {
                return Err(Error::illegal_argument(format!(
                    "field [{target_field}] already exists"
                )));
            }
            document.remove(field);
            document.set(target_field, value).map_err(Error::illegal_argument)
        }
        Processor::Embed(_) => unreachable!("embedding processors run in batches"),
    }
}

/// One value to embed: which document, which mapping, which input of the mapping.
struct Request {
    document: usize,
    mapping: usize,
    input: EmbedInputRef,
}

enum EmbedInputRef {
    Text(String),
    Image(String),
}

/// Runs an embedding processor over the batch: images fetched concurrently, then one model
/// call (off the async threads) for every input of every document.
async fn embed_batch(
    embed: &EmbedProcessor,
    batch: &mut [IngestDocument],
    services: &IngestServices,
) -> Vec<Option<Error>> {
    let mut errors: Vec<Option<Error>> = (0..batch.len()).map(|_| None).collect();
    let model = match services.embedder.model(&embed.model_id) {
        Ok(model) => model,
        Err(error) => {
            let error = Error::from(error);
            return errors.iter().map(|_| Some(error.clone())).collect();
        }
    };
    let mut requests = Vec::new();
    for (position, document) in batch.iter().enumerate() {
        match collect_inputs(embed, &model, document, position) {
            Ok(found) => requests.extend(found),
            Err(error) => errors[position] = Some(error),
        }
    }
    requests.retain(|request| errors[request.document].is_none());
    // Fetch every image reference of the batch concurrently.
    let references: Vec<String> = requests
        .iter()
        .filter_map(|request| match &request.input {
            EmbedInputRef::Image(reference) => Some(reference.clone()),
            EmbedInputRef::Text(_) => None,
        })
        .collect();
    let mut fetched = services.fetcher.fetch_all(&references).await.into_iter();
    let mut inputs = Vec::with_capacity(requests.len());
    let mut owners = Vec::with_capacity(requests.len());
    for request in &requests {
        let input = match &request.input {
            EmbedInputRef::Text(text) => EmbedInput::Text(text.clone()),
            EmbedInputRef::Image(_) => match fetched.next() {
                Some(Ok(bytes)) => EmbedInput::Image(Arc::new(bytes)),
                Some(Err(error)) => {
                    errors[request.document].get_or_insert(Error::illegal_argument(error.to_string()));
                    continue;
                }
                None => unreachable!("one fetch result per image reference"),
            },
        };
        inputs.push(input);
        owners.push((request.document, request.mapping));
    }
    if inputs.is_empty() {
        return errors;
    }
    let embedder = services.embedder.clone();
    let model_id = embed.model_id.clone();
    let embedded = tokio::task::spawn_blocking(move || embedder.embed(&model_id, &inputs)).await;
    let vectors = match embedded {
        Ok(Ok(vectors)) => vectors,
        Ok(Err(error)) => {
            let error = Error::from(error);
            for (document, _) in &owners {
                errors[*document].get_or_insert(error.clone());
            }
            return errors;
        }
        Err(join_error) => {
            let error = Error::internal(format!("embedding task failed: {join_error}"));
            for (document, _) in &owners {
                errors[*document].get_or_insert(error.clone());
            }
            return errors;
        }
    };
    // Sum the vectors of each (document, mapping); a text and an image make their mean.
    let mut sums: Vec<((usize, usize), Vec<f32>, usize)> = Vec::new();
    for ((document, mapping), vector) in owners.into_iter().zip(vectors) {
        let vector = match vector {
            Ok(vector) => vector,
            Err(error) => {
                errors[document].get_or_insert(Error::from(error));
                continue;
            }
        };
        match sums.iter_mut().find(|(key, _, _)| *key == (document, mapping)) {
            Some((_, sum, count)) => {
                sum.iter_mut().zip(&vector).for_each(|(total, value)| *total += value);
                *count += 1;
            }
            None => sums.push(((document, mapping), vector, 1)),
        }
    }
    for ((document, mapping), mut vector, count) in sums {
        if errors[document].is_some() {
            continue;
        }
        if count > 1 {
            let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
            if norm > 0.0 {
                vector.iter_mut().for_each(|value| *value /= norm);
            }
        }
        let values = Value::Array(vector.iter().map(|value| json!(f64::from(*value))).collect());
        let written = match &embed.mappings[mapping].output {
            EmbedOutput::Field(path) => batch[document].set(path, values),
            EmbedOutput::Legacy(target) => batch[document]
                .set(&format!("{target}.predicted_value"), values)
                .and_then(|()| batch[document].set(&format!("{target}.model_id"), json!(embed.model_id))),
        };
        if let Err(reason) = written {
            errors[document] = Some(Error::illegal_argument(reason));
        }
    }
    errors
}

/// The inputs one document gives an embedding processor.
fn collect_inputs(
    embed: &EmbedProcessor,
    model: &ModelInfo,
    document: &IngestDocument,
    position: usize,
) -> Result<Vec<Request>> {
    let mut found = Vec::new();
    for (mapping_position, mapping) in embed.mappings.iter().enumerate() {
        for (field, kind) in &mapping.inputs {
            let Some(value) = document.get(field).filter(|value| !value.is_null()) else {
                if embed.ignore_missing {
                    continue;
                }
                return Err(Error::illegal_argument(format!(
                    "field [{field}] not present as part of path [{field}]"
                )));
            };
            let Value::String(text) = value else {
                return Err(Error::illegal_argument(format!(
                    "field [{field}] of type [{}] cannot be embedded: expected a string (text, or an image as base64, a data URL, a URL or a path)",
                    json_kind(&value)
                )));
            };
            let kind = kind.unwrap_or_else(|| input_kind(model, &text));
            if !model.accepts(kind) {
                return Err(Error::illegal_argument(format!(
                    "model [{}] does not accept {} input (field [{field}])",
                    model.id,
                    kind.name()
                )));
            }
            found.push(Request {
                document: position,
                mapping: mapping_position,
                input: match kind {
                    InputKind::Text => EmbedInputRef::Text(text),
                    InputKind::Image => EmbedInputRef::Image(text),
                },
            });
        }
    }
    Ok(found)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// For a model that takes only one kind, that kind; for one that takes both, an image when
/// the value is an image reference (data URL, URL, path, or base64 of image bytes).
pub fn input_kind(model: &ModelInfo, value: &str) -> InputKind {
    match (model.accepts_text, model.accepts_image) {
        (true, false) => InputKind::Text,
        (false, true) => InputKind::Image,
        _ if looks_like_image_reference(value) => InputKind::Image,
        _ => InputKind::Text,
    }
}

/// Whether a string names an image rather than being text to embed.
pub fn looks_like_image_reference(value: &str) -> bool {
    let trimmed = value.trim();
    if ["data:", "http://", "https://", "file://", "/", "./", "../"]
        .iter()
        .any(|prefix| trimmed.starts_with(prefix))
    {
        return !trimmed.contains(char::is_whitespace) || trimmed.starts_with("data:");
    }
    // Base64 of an image: decode a short prefix and look for a known signature.
    if trimmed.len() < 32 || trimmed.contains(' ') {
        return false;
    }
    let prefix: String = trimmed.chars().filter(|c| !c.is_whitespace()).take(24).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&prefix)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&prefix));
    let Ok(bytes) = decoded else {
        return false;
    };
    const SIGNATURES: &[&[u8]] = &[b"\xFF\xD8\xFF", b"\x89PNG", b"GIF8", b"RIFF", b"BM", b"II*\0", b"MM\0*"];
    SIGNATURES.iter().any(|signature| bytes.starts_with(signature))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::ImageFetchConfig;
    use crate::embed::fake::{FakeEmbedder, fake_vector};

    fn services() -> IngestServices {
        IngestServices {
            embedder: Arc::new(FakeEmbedder),
            fetcher: Arc::new(ImageFetcher::new(&ImageFetchConfig::default()).expect("fetcher")),
        }
    }

    fn doc(id: &str, source: Value) -> IngestDocument {
        IngestDocument::new("i", Some(id.into()), source.as_object().expect("object").clone())
    }

    fn base64_of(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[tokio::test]
    async fn simple_processors_and_failure_handling() {
        let pipeline = Pipeline::parse(&json!({"processors": [
            {"set": {"field": "greeting", "value": "hi {{name}}"}},
            {"rename": {"field": "name", "target_field": "who"}},
            {"remove": {"field": "nope", "on_failure": [{"set": {"field": "why", "value": "{{_ingest.on_failure_message}}"}}]}},
            {"remove": {"field": "also_nope", "ignore_failure": true}}
        ]}))
        .expect("pipeline");
        let results = run_pipeline(&pipeline, vec![doc("1", json!({"name": "cat"}))], &services()).await;
        let out = results.into_iter().next().expect("one").expect("ok");
        assert_eq!(
            Value::Object(out.source),
            json!({"greeting": "hi cat", "who": "cat", "why": "field [nope] not present as part of path [nope]"})
        );
    }

    #[tokio::test]
    async fn pipeline_on_failure_keeps_the_document_and_errors_stay_per_document() {
        let failing =
            Pipeline::parse(&json!({"processors": [{"rename": {"field": "a", "target_field": "b"}}]})).expect("p");
        let results = run_pipeline(
            &failing,
            vec![doc("1", json!({"a": 1})), doc("2", json!({}))],
            &services(),
        )
        .await;
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err().reason, "field [a] doesn't exist");
        let handled = Pipeline::parse(&json!({
            "processors": [{"rename": {"field": "a", "target_field": "b", "tag": "t"}}],
            "on_failure": [{"set": {"field": "failed", "value": "{{_ingest.on_failure_processor_type}}:{{_ingest.on_failure_processor_tag}}"}}]
        }))
        .expect("p");
        let results = run_pipeline(&handled, vec![doc("2", json!({}))], &services()).await;
        assert_eq!(results[0].as_ref().expect("ok").source["failed"], json!("rename:t"));
    }

    #[tokio::test]
    async fn embedding_processors_batch_and_write_vectors() {
        let image = base64_of(b"\x89PNG\r\n\x1a\n fake image bytes for the fake embedder");
        let pipeline = Pipeline::parse(&json!({"processors": [
            {"inference": {"model_id": "fake-image", "input_output": [{"input_field": "photo", "output_field": "photo_vec"}]}},
            {"text_embedding": {"model_id": "fake-text", "field_map": {"caption": "caption_vec"}}},
            {"text_image_embedding": {"model_id": "fake-both", "embedding": "both_vec", "field_map": {"text": "caption", "image": "photo"}}},
            {"remove": {"field": "photo"}}
        ]}))
        .expect("pipeline");
        let documents = vec![
            doc("1", json!({"photo": image, "caption": "a cat"})),
            doc("2", json!({"photo": base64_of(b"bad image"), "caption": "a dog"})),
        ];
        let results = run_pipeline(&pipeline, documents, &services()).await;
        let first = match &results[0] {
            Ok(first) => first,
            Err(error) => panic!("first document failed: {error}"),
        };
        let caption_vec: Vec<f32> = serde_json::from_value(first.source["caption_vec"].clone()).expect("vec");
        let expected = fake_vector(b"a cat");
        assert!(caption_vec.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6));
        assert_eq!(first.source["photo_vec"].as_array().expect("vec").len(), 4);
        assert_eq!(first.source["both_vec"].as_array().expect("vec").len(), 4);
        assert!(first.source.get("photo").is_none());
        // The second document's image is not an image: it fails alone.
        assert!(results[1].is_err());
    }

    #[tokio::test]
    async fn unknown_models_and_missing_fields_fail_clearly() {
        let pipeline = Pipeline::parse(&json!({"processors": [
            {"inference": {"model_id": "missing-model", "input_output": {"input_field": "t", "output_field": "v"}}}
        ]}))
        .expect("pipeline");
        let results = run_pipeline(&pipeline, vec![doc("1", json!({"t": "x"}))], &services()).await;
        assert_eq!(
            results[0].as_ref().unwrap_err().reason,
            "Could not find trained model [missing-model]"
        );
        let pipeline = Pipeline::parse(&json!({"processors": [
            {"inference": {"model_id": "fake-text", "input_output": {"input_field": "t", "output_field": "v"}}}
        ]}))
        .expect("pipeline");
        let results = run_pipeline(&pipeline, vec![doc("1", json!({}))], &services()).await;
        assert_eq!(
            results[0].as_ref().unwrap_err().reason,
            "field [t] not present as part of path [t]"
        );
    }

    #[test]
    fn image_references_are_told_from_text() {
        assert!(looks_like_image_reference("https://example.com/a.jpg"));
        assert!(looks_like_image_reference("data:image/png;base64,iVBORw0KGgo="));
        assert!(looks_like_image_reference("/photos/cat.jpg"));
        assert!(looks_like_image_reference(&base64_of(
            b"\xFF\xD8\xFF\xE0 jpeg bytes follow here...."
        )));
        assert!(!looks_like_image_reference("a photo of a cat"));
        assert!(!looks_like_image_reference("/ a slash then words"));
        assert!(!looks_like_image_reference("aGVsbG8gd29ybGQgdGhpcyBpcyBqdXN0IHRleHQ="));
    }
}
