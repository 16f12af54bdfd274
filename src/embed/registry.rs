//! [`ModelRegistry`]: the [`Embedder`] of a server, backed by the model folders under
//! `models/` and ONNX Runtime.
//!
//! Opening reads the manifests only. The ONNX Runtime library, each model file's sha256 and
//! each session are dealt with on the first embedding that needs them, so a server whose
//! models are not fetched yet still starts and serves everything but embeddings, and a
//! fetch while it runs is picked up without a restart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::output_cache::{ImageOutputs, OutputCache, image_key};
use sha2::{Digest, Sha256};

use super::manifest::{self, Endpoint, LoadedModel, Route, Tower};
use super::onnx::{self, InputTensor, OnnxSession};
use super::pooling::{l2_normalize, pool_batch};
use super::preprocess::{self, ImagePreprocessor};
use super::tokenize::TextTokenizer;
use super::{EmbedError, EmbedInput, Embedder, InputKind, ModelInfo};
use crate::config::Config;

/// Inputs per ONNX run: larger batches gain nothing on CPU and cost memory (a 224 × 224
/// image is 600 KB of f32).
pub const MAX_RUN_BATCH: usize = 32;

/// Threads decoding and preprocessing the images of one batch.
const PREPROCESS_THREADS: usize = 2;

const FETCH_HINT: &str = "run `bash scripts/fetch_models.sh`";

/// Time spent per stage by one [`ModelRegistry::embed_with_timings`] call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    /// Image decoding, summed over the preprocessing threads.
    pub decode: Duration,
    /// Resize, crop and normalisation, summed over the preprocessing threads.
    pub preprocess: Duration,
    /// Tokenization.
    pub tokenize: Duration,
    /// ONNX runs, pooling and normalisation (wall time).
    pub inference: Duration,
}

/// One result per input, as [`Embedder::embed`] returns them.
pub type EmbedResults = Vec<Result<Vec<f32>, EmbedError>>;

/// Cache key of a loaded tokenizer: the file and the tower's truncation and padding.
type TokenizerKey = (PathBuf, usize, Option<usize>, u32);

/// The endpoints of every model folder, and the sessions created so far.
#[derive(Debug)]
pub struct ModelRegistry {
    models_dir: PathBuf,
    onnxruntime_opt: Option<PathBuf>,
    inference_threads: usize,
    max_pixels: u64,
    models: Vec<LoadedModel>,
    /// Endpoint id → (index in `models`, index in its manifest's `endpoints`).
    endpoints: BTreeMap<String, (usize, usize)>,
    /// By canonical model path, so towers of different folders sharing a file share a session.
    sessions: Mutex<HashMap<PathBuf, Arc<OnnxSession>>>,
    tokenizers: Mutex<HashMap<TokenizerKey, Arc<TextTokenizer>>>,
    /// (canonical path, sha256) pairs already checked.
    verified_files: Mutex<HashSet<(PathBuf, String)>>,
    /// Every output of recent image runs, so endpoints sharing a tower share a run.
    image_outputs: OutputCache,
}

/// Images whose outputs the cache keeps (about 10 KB each for the default image model).
const IMAGE_OUTPUT_CACHE_ENTRIES: usize = 512;

/// Splits each batch output into per-image rows and keeps them in the cache.
fn cache_rows(cache: &OutputCache, keys: Vec<(PathBuf, [u8; 32])>, outputs: &HashMap<String, onnx::OutputTensor>) {
    let rows = keys.len();
    let mut per_image: Vec<ImageOutputs> = (0..rows).map(|_| ImageOutputs::new()).collect();
    for (name, output) in outputs {
        if output.shape.first() != Some(&rows) || rows == 0 {
            continue;
        }
        let stride = output.values.len() / rows;
        for (row, outputs) in per_image.iter_mut().enumerate() {
            outputs.insert(
                name.clone(),
                (
                    output.shape[1..].to_vec(),
                    output.values[row * stride..(row + 1) * stride].to_vec(),
                ),
            );
        }
    }
    for (key, outputs) in keys.into_iter().zip(per_image) {
        cache.insert(key, outputs);
    }
}

/// One input, decoded and preprocessed, with the time each step took.
struct PreparedImage {
    tensor_result: Result<Vec<f32>, EmbedError>,
    decode: Duration,
    preprocess: Duration,
}

fn prepare_image(bytes: &[u8], preprocessor: &ImagePreprocessor, max_pixels: u64) -> PreparedImage {
    let decode_started = Instant::now();
    let decoded = preprocess::decode(bytes, max_pixels);
    let decode = decode_started.elapsed();
    let preprocess_started = Instant::now();
    let tensor_result = decoded.map(|image| {
        let mut tensor = vec![0.0; preprocessor.tensor_len()];
        preprocessor.write_tensor(&image, &mut tensor);
        tensor
    });
    PreparedImage {
        tensor_result,
        decode,
        preprocess: preprocess_started.elapsed(),
    }
}

/// Prepares `images` on up to [`PREPROCESS_THREADS`] threads, in input order.
fn prepare_images(images: &[&[u8]], preprocessor: &ImagePreprocessor, max_pixels: u64) -> Vec<PreparedImage> {
    let threads = PREPROCESS_THREADS.min(images.len());
    if threads <= 1 {
        return images
            .iter()
            .map(|bytes| prepare_image(bytes, preprocessor, max_pixels))
            .collect();
    }
    // Images differ in size, so threads take the next image rather than a fixed half.
    let next = AtomicUsize::new(0);
    let mut prepared: Vec<(usize, PreparedImage)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let position = next.fetch_add(1, Ordering::Relaxed);
                        let Some(bytes) = images.get(position) else {
                            return done;
                        };
                        done.push((position, prepare_image(bytes, preprocessor, max_pixels)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("image preprocessing does not panic"))
            .collect()
    });
    prepared.sort_by_key(|(position, _)| *position);
    prepared.into_iter().map(|(_, image)| image).collect()
}

fn sha256_hex(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

fn route_for(endpoint: &Endpoint, kind: InputKind) -> Option<&Route> {
    match kind {
        InputKind::Image => endpoint.image.as_ref(),
        InputKind::Text => endpoint.text.as_ref(),
    }
}

impl ModelRegistry {
    /// Reads every `<models_dir>/*/manifest.json`. Cheap: no file is hashed and no session
    /// is created. A missing `models_dir` gives a registry without endpoints.
    pub fn open(
        models_dir: &Path,
        onnxruntime_opt: Option<PathBuf>,
        inference_threads: usize,
        max_pixels: u64,
    ) -> Result<ModelRegistry, EmbedError> {
        let models = manifest::load_all(models_dir).map_err(|error| EmbedError::ModelUnavailable(error.to_string()))?;
        let mut endpoints = BTreeMap::new();
        for (model_index, model) in models.iter().enumerate() {
            for (endpoint_index, endpoint) in model.manifest.endpoints.iter().enumerate() {
                endpoints.insert(endpoint.id.clone(), (model_index, endpoint_index));
            }
        }
        if models.is_empty() {
            tracing::warn!(models = %models_dir.display(), "no model manifests found: embedding is unavailable");
        }
        Ok(ModelRegistry {
            models_dir: models_dir.to_path_buf(),
            onnxruntime_opt,
            inference_threads,
            max_pixels,
            models,
            endpoints,
            sessions: Mutex::new(HashMap::new()),
            tokenizers: Mutex::new(HashMap::new()),
            verified_files: Mutex::new(HashSet::new()),
            image_outputs: OutputCache::new(IMAGE_OUTPUT_CACHE_ENTRIES),
        })
    }

    /// Turns off the image output cache (benchmarks that repeat images measure every run).
    pub fn without_output_cache(self) -> ModelRegistry {
        ModelRegistry {
            image_outputs: OutputCache::new(0),
            ..self
        }
    }

    /// [`ModelRegistry::open`] with the server's settings.
    pub fn from_config(config: &Config) -> Result<ModelRegistry, EmbedError> {
        ModelRegistry::open(
            &config.models,
            config.onnxruntime.clone(),
            config.inference_threads,
            config.image_fetch.max_pixels,
        )
    }

    fn endpoint(&self, model_id: &str) -> Result<(&LoadedModel, &Endpoint), EmbedError> {
        let Some(&(model_index, endpoint_index)) = self.endpoints.get(model_id) else {
            return Err(EmbedError::UnknownModel(model_id.to_string()));
        };
        let model = &self.models[model_index];
        Ok((model, &model.manifest.endpoints[endpoint_index]))
    }

    /// The path of `local_name`, checked against its sha256 the first time it is used.
    fn checked_file(&self, model: &LoadedModel, local_name: &str) -> Result<PathBuf, EmbedError> {
        let manifest_path = model.dir.join("manifest.json");
        let Some(entry) = model.manifest.files.get(local_name) else {
            return Err(EmbedError::ModelUnavailable(format!(
                "{} names no file [{local_name}]",
                manifest_path.display()
            )));
        };
        let path = model.dir.join(&entry.path);
        let Ok(canonical) = path.canonicalize() else {
            return Err(EmbedError::ModelUnavailable(format!(
                "model file {} (file [{local_name}] of {}) is missing: {FETCH_HINT}",
                path.display(),
                manifest_path.display()
            )));
        };
        let key = (canonical, entry.sha256.clone());
        if self.verified_files.lock().contains(&key) {
            return Ok(key.0);
        }
        let actual = sha256_hex(&key.0).map_err(|error| {
            EmbedError::ModelUnavailable(format!("cannot read model file {}: {error}", path.display()))
        })?;
        if actual != entry.sha256 {
            return Err(EmbedError::ModelUnavailable(format!(
                "model file {} has sha256 {actual}, but {} expects {}: {FETCH_HINT}",
                path.display(),
                manifest_path.display(),
                entry.sha256
            )));
        }
        self.verified_files.lock().insert(key.clone());
        Ok(key.0)
    }

    /// The session of `tower_name`, created on first use, checked against the manifest's
    /// input names and the endpoint's output name and dims.
    fn session(
        &self,
        model: &LoadedModel,
        tower_name: &str,
        tower: &Tower,
        endpoint: &Endpoint,
        route: &Route,
    ) -> Result<Arc<OnnxSession>, EmbedError> {
        let path = self.checked_file(model, tower.file())?;
        let session = {
            let mut sessions = self.sessions.lock();
            match sessions.get(&path) {
                Some(session) => session.clone(),
                None => {
                    let environment = onnx::environment(&self.models_dir, self.onnxruntime_opt.as_deref())?;
                    let started = Instant::now();
                    let created = Arc::new(OnnxSession::create(&environment, &path, self.inference_threads)?);
                    tracing::info!(
                        model = %path.display(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "created ONNX session"
                    );
                    sessions.insert(path.clone(), created.clone());
                    created
                }
            }
        };
        let manifest_path = model.dir.join("manifest.json");
        let mismatch = |problem: String| {
            EmbedError::ModelUnavailable(format!(
                "{} does not match {}: {problem}",
                manifest_path.display(),
                path.display()
            ))
        };
        let signature = session.signature();
        let fed = tower.input_names();
        let model_inputs = signature.input_names();
        for input in &fed {
            if !model_inputs.contains(input) {
                return Err(mismatch(format!(
                    "tower [{tower_name}] feeds input [{input}], which the model does not have (inputs: {})",
                    model_inputs.join(", ")
                )));
            }
        }
        if let Some(unfed) = model_inputs.iter().find(|name| !fed.contains(name)) {
            return Err(mismatch(format!(
                "the model needs input [{unfed}], which tower [{tower_name}] does not feed"
            )));
        }
        match signature.output_last_dim(&route.output) {
            None => Err(mismatch(format!(
                "endpoint [{}] reads output [{}], which the model does not have (outputs: {})",
                endpoint.id,
                route.output,
                signature.output_names().join(", ")
            ))),
            Some(Some(dims)) if usize::try_from(dims).ok() != Some(endpoint.dims) => Err(mismatch(format!(
                "output [{}] has {dims} dims, endpoint [{}] declares {}",
                route.output, endpoint.id, endpoint.dims
            ))),
            Some(_) => Ok(session),
        }
    }

    fn tokenizer(&self, model: &LoadedModel, tower: &manifest::TextTower) -> Result<Arc<TextTokenizer>, EmbedError> {
        let path = self.checked_file(model, &tower.tokenizer)?;
        let key = (path, tower.max_tokens, tower.pad_to, tower.pad_id.unwrap_or(0));
        let mut tokenizers = self.tokenizers.lock();
        if let Some(tokenizer) = tokenizers.get(&key) {
            return Ok(tokenizer.clone());
        }
        let loaded = Arc::new(TextTokenizer::from_file(&key.0, key.1, key.2, key.3)?);
        tokenizers.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Embeds like [`Embedder::embed`] and also reports the time spent per stage.
    pub fn embed_with_timings(
        &self,
        model_id: &str,
        inputs: &[EmbedInput],
    ) -> Result<(EmbedResults, StageTimings), EmbedError> {
        let (model, endpoint) = self.endpoint(model_id)?;
        let mut timings = StageTimings::default();
        let mut results: Vec<Option<Result<Vec<f32>, EmbedError>>> = vec![None; inputs.len()];
        let mut image_positions = Vec::new();
        let mut text_positions = Vec::new();
        for (position, input) in inputs.iter().enumerate() {
            match (input, route_for(endpoint, input.kind())) {
                (_, None) => {
                    results[position] = Some(Err(EmbedError::UnsupportedInput {
                        model: endpoint.id.clone(),
                        kind: input.kind().name(),
                    }));
                }
                (EmbedInput::Image(bytes), Some(_)) => image_positions.push((position, bytes.as_slice())),
                (EmbedInput::Text(text), Some(_)) => text_positions.push((position, text.as_str())),
            }
        }
        if let Some(route) = &endpoint.image
            && !image_positions.is_empty()
        {
            self.embed_images(model, endpoint, route, &image_positions, &mut results, &mut timings)?;
        }
        if let Some(route) = &endpoint.text
            && !text_positions.is_empty()
        {
            self.embed_texts(model, endpoint, route, &text_positions, &mut results, &mut timings)?;
        }
        let results = results
            .into_iter()
            .map(|result| result.expect("every input is routed, refused or embedded"))
            .collect();
        Ok((results, timings))
    }

    /// Pools a run's output into one vector per row, normalising when the route says so.
    fn vectors_from_output(
        endpoint: &Endpoint,
        route: &Route,
        output: &onnx::OutputTensor,
        rows: usize,
        tokens_opt: Option<&super::tokenize::TokenBatch>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let failed = |problem: String| {
            EmbedError::Inference(format!(
                "endpoint [{}], output [{}]: {problem}",
                endpoint.id, route.output
            ))
        };
        let mut vectors = pool_batch(route.pooling, &output.shape, &output.values, tokens_opt).map_err(failed)?;
        if vectors.len() != rows {
            return Err(failed(format!("{} rows for {rows} inputs", vectors.len())));
        }
        for vector in &mut vectors {
            if vector.len() != endpoint.dims {
                return Err(failed(format!(
                    "vectors have {} dims, the manifest declares {}",
                    vector.len(),
                    endpoint.dims
                )));
            }
            if route.normalize {
                l2_normalize(vector);
            }
        }
        Ok(vectors)
    }

    fn embed_images(
        &self,
        model: &LoadedModel,
        endpoint: &Endpoint,
        route: &Route,
        images: &[(usize, &[u8])],
        results: &mut [Option<Result<Vec<f32>, EmbedError>>],
        timings: &mut StageTimings,
    ) -> Result<(), EmbedError> {
        let Some(tower @ Tower::Image(image_tower)) = model.manifest.towers.get(&route.tower) else {
            return Err(EmbedError::ModelUnavailable(format!(
                "endpoint [{}]: [{}] is not an image tower",
                endpoint.id, route.tower
            )));
        };
        let session = self.session(model, &route.tower, tower, endpoint, route)?;
        let preprocessor = ImagePreprocessor::new(&image_tower.preprocess);
        // Images another endpoint of this tower ran recently need no inference.
        let mut uncached = Vec::with_capacity(images.len());
        let mut cached_positions = Vec::new();
        let mut cached_rows = Vec::new();
        let mut cached_shape = Vec::new();
        for (position, bytes) in images {
            // Hashed once: the key finds a cached run now and stores this run's outputs later.
            let key = image_key(session.path(), bytes);
            let hit = self
                .image_outputs
                .get(&key)
                .and_then(|outputs| outputs.get(&route.output).cloned());
            match hit {
                Some((shape, values)) => {
                    cached_positions.push(*position);
                    cached_rows.extend(values);
                    cached_shape = shape;
                }
                None => uncached.push((*position, *bytes, key)),
            }
        }
        if !cached_positions.is_empty() {
            let mut shape = vec![cached_positions.len()];
            shape.extend(&cached_shape);
            let output = onnx::OutputTensor {
                shape,
                values: cached_rows,
            };
            let vectors = Self::vectors_from_output(endpoint, route, &output, cached_positions.len(), None)?;
            for (position, vector) in cached_positions.into_iter().zip(vectors) {
                results[position] = Some(Ok(vector));
            }
        }
        for chunk in uncached.chunks(session.signature().batch_limit(MAX_RUN_BATCH)) {
            let bytes: Vec<&[u8]> = chunk.iter().map(|(_, bytes, _)| *bytes).collect();
            let prepared = prepare_images(&bytes, &preprocessor, self.max_pixels);
            let mut batch_positions = Vec::with_capacity(chunk.len());
            let mut batch_keys = Vec::with_capacity(chunk.len());
            let mut batch_values = Vec::with_capacity(chunk.len() * preprocessor.tensor_len());
            for ((position, _, key), image) in chunk.iter().zip(prepared) {
                timings.decode += image.decode;
                timings.preprocess += image.preprocess;
                match image.tensor_result {
                    Ok(tensor) => {
                        batch_positions.push(*position);
                        batch_keys.push(key.clone());
                        batch_values.extend(tensor);
                    }
                    Err(error) => results[*position] = Some(Err(error)),
                }
            }
            if batch_positions.is_empty() {
                continue;
            }
            let started = Instant::now();
            let input = InputTensor::F32 {
                shape: preprocessor.input_shape(batch_positions.len()).to_vec(),
                values: batch_values,
            };
            let all_outputs = session.run_all(vec![(image_tower.input.clone(), input)])?;
            let Some(output) = all_outputs.get(&route.output) else {
                return Err(EmbedError::Inference(format!(
                    "{}: the model has no output [{}]",
                    session.path().display(),
                    route.output
                )));
            };
            let vectors = Self::vectors_from_output(endpoint, route, output, batch_positions.len(), None)?;
            cache_rows(&self.image_outputs, batch_keys, &all_outputs);
            for (position, vector) in batch_positions.into_iter().zip(vectors) {
                results[position] = Some(Ok(vector));
            }
            timings.inference += started.elapsed();
        }
        Ok(())
    }

    fn embed_texts(
        &self,
        model: &LoadedModel,
        endpoint: &Endpoint,
        route: &Route,
        texts: &[(usize, &str)],
        results: &mut [Option<Result<Vec<f32>, EmbedError>>],
        timings: &mut StageTimings,
    ) -> Result<(), EmbedError> {
        let Some(tower @ Tower::Text(text_tower)) = model.manifest.towers.get(&route.tower) else {
            return Err(EmbedError::ModelUnavailable(format!(
                "endpoint [{}]: [{}] is not a text tower",
                endpoint.id, route.tower
            )));
        };
        let session = self.session(model, &route.tower, tower, endpoint, route)?;
        let tokenizer = self.tokenizer(model, text_tower)?;
        for chunk in texts.chunks(session.signature().batch_limit(MAX_RUN_BATCH)) {
            let tokenize_started = Instant::now();
            let strings: Vec<&str> = chunk.iter().map(|(_, text)| *text).collect();
            let tokens = tokenizer.encode_batch(&strings)?;
            timings.tokenize += tokenize_started.elapsed();
            let started = Instant::now();
            let shape = tokens.shape().to_vec();
            let names = &text_tower.inputs;
            let mut inputs = vec![
                (
                    names.ids.clone(),
                    InputTensor::I64 {
                        shape: shape.clone(),
                        values: tokens.ids.clone(),
                    },
                ),
                (
                    names.mask.clone(),
                    InputTensor::I64 {
                        shape: shape.clone(),
                        values: tokens.mask.clone(),
                    },
                ),
            ];
            if let Some(type_ids_name) = &names.type_ids {
                inputs.push((
                    type_ids_name.clone(),
                    InputTensor::I64 {
                        shape,
                        values: tokens.type_ids.clone(),
                    },
                ));
            }
            let output = session.run(inputs, &route.output)?;
            let vectors = Self::vectors_from_output(endpoint, route, &output, chunk.len(), Some(&tokens))?;
            for ((position, _), vector) in chunk.iter().zip(vectors) {
                results[*position] = Some(Ok(vector));
            }
            timings.inference += started.elapsed();
        }
        Ok(())
    }
}

impl Embedder for ModelRegistry {
    fn models(&self) -> Vec<ModelInfo> {
        self.endpoints
            .values()
            .map(|&(model_index, endpoint_index)| {
                let model = &self.models[model_index];
                let endpoint = &model.manifest.endpoints[endpoint_index];
                ModelInfo {
                    id: endpoint.id.clone(),
                    description: endpoint.description.clone(),
                    dims: endpoint.dims,
                    accepts_text: endpoint.text.is_some(),
                    accepts_image: endpoint.image.is_some(),
                    normalized: endpoint.normalized,
                    license: model.manifest.license.clone(),
                    model_folder: model.folder.clone(),
                }
            })
            .collect()
    }

    fn embed(&self, model_id: &str, inputs: &[EmbedInput]) -> Result<Vec<Result<Vec<f32>, EmbedError>>, EmbedError> {
        self.embed_with_timings(model_id, inputs).map(|(results, _)| results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::manifest::tests::readme_manifest;

    /// The README manifest in `<tmp>/efficientnet-lite0`, none of its files present.
    fn registry_without_files() -> (tempfile::TempDir, ModelRegistry) {
        let models = tempfile::tempdir().expect("tempdir");
        let folder = models.path().join("efficientnet-lite0");
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::write(folder.join("manifest.json"), readme_manifest().to_string()).expect("write");
        let registry = ModelRegistry::open(models.path(), None, 1, 1_000_000).expect("open");
        (models, registry)
    }

    #[test]
    fn endpoints_are_listed_from_the_manifests() {
        let (_models, registry) = registry_without_files();
        let models = registry.models();
        assert_eq!(
            models.iter().map(|info| info.id.as_str()).collect::<Vec<_>>(),
            ["efficientnet-lite0", "efficientnet-lite0-text-space"]
        );
        assert_eq!(
            models[1],
            ModelInfo {
                id: "efficientnet-lite0-text-space".into(),
                description: "text space".into(),
                dims: 384,
                accepts_text: true,
                accepts_image: true,
                normalized: true,
                license: "Apache-2.0".into(),
                model_folder: "efficientnet-lite0".into(),
            }
        );
        assert!(!models[0].accepts_text);
    }

    #[test]
    fn unknown_models_and_unsupported_inputs_fail_without_model_files() {
        let (_models, registry) = registry_without_files();
        assert_eq!(
            registry.embed("nope", &[]).unwrap_err(),
            EmbedError::UnknownModel("nope".into())
        );
        assert_eq!(
            registry.embed("efficientnet-lite0", &[]).expect("nothing to do"),
            vec![]
        );
        let refused = registry
            .embed("efficientnet-lite0", &[EmbedInput::Text("a cat".into())])
            .expect("per-input error");
        assert_eq!(
            refused,
            vec![Err(EmbedError::UnsupportedInput {
                model: "efficientnet-lite0".into(),
                kind: "text",
            })]
        );
    }

    #[test]
    fn missing_and_corrupt_files_name_the_file_and_the_fix() {
        let (models, registry) = registry_without_files();
        let image = EmbedInput::Image(Arc::new(vec![1, 2, 3]));
        let EmbedError::ModelUnavailable(missing) = registry
            .embed("efficientnet-lite0", std::slice::from_ref(&image))
            .unwrap_err()
        else {
            panic!("model unavailable expected");
        };
        assert!(
            missing.contains("efficientnet-lite0/model.onnx (file [image_model] of")
                && missing.ends_with("is missing: run `bash scripts/fetch_models.sh`"),
            "{missing}"
        );
        std::fs::write(models.path().join("efficientnet-lite0/model.onnx"), b"not a model").expect("write");
        let EmbedError::ModelUnavailable(mismatch) = registry.embed("efficientnet-lite0", &[image]).unwrap_err() else {
            panic!("model unavailable expected");
        };
        assert!(
            mismatch.contains("model.onnx has sha256 ")
                && mismatch.contains(&format!("expects {}", "0".repeat(64)))
                && mismatch.ends_with("run `bash scripts/fetch_models.sh`"),
            "{mismatch}"
        );
    }

    #[test]
    fn sha256_matches_a_known_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").expect("write");
        assert_eq!(
            sha256_hex(&path).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_missing_models_folder_has_no_endpoints() {
        let registry = ModelRegistry::open(Path::new("/nonexistent/models"), None, 1, 100).expect("open");
        assert!(registry.models().is_empty());
    }
}
