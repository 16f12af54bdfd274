//! ONNX Runtime: the one environment of the process and the sessions of the towers.
//!
//! The runtime is a shared library loaded at run time (`ort`'s `load-dynamic`), so a missing
//! or broken library is an [`EmbedError::ModelUnavailable`] on the first embedding, not a
//! failed start. `ort` can load one library per process only, so the first successful load
//! wins and later registries reuse it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::{DynValue, Tensor, ValueType};
use parking_lot::Mutex;

use super::EmbedError;

/// The environment, once the library loaded; `None` until then, so a failed load (library
/// not fetched yet) is retried on the next call instead of being remembered.
static RUNTIME: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

const FETCH_HINT: &str = "run `bash scripts/fetch_models.sh`";

/// Where the ONNX Runtime library is: the configured path, else
/// `<models>/runtime/libonnxruntime.so*`, else `ORT_DYLIB_PATH` (`env_dylib_opt`).
pub fn resolve_runtime_path(
    models_dir: &Path,
    configured_opt: Option<&Path>,
    env_dylib_opt: Option<&str>,
) -> Result<PathBuf, EmbedError> {
    if let Some(configured) = configured_opt {
        if configured.is_file() {
            return Ok(configured.to_path_buf());
        }
        return Err(EmbedError::ModelUnavailable(format!(
            "ONNX Runtime library not found at {} (the `onnxruntime` setting): fix the path or {FETCH_HINT}",
            configured.display()
        )));
    }
    let runtime_dir = models_dir.join("runtime");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&runtime_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().starts_with("libonnxruntime.so"))
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default();
    // The most specific name (libonnxruntime.so.1.31.1 over libonnxruntime.so) is the real file.
    candidates.sort_by_key(|path| std::cmp::Reverse(path.as_os_str().len()));
    if let Some(found) = candidates.into_iter().next() {
        return Ok(found);
    }
    if let Some(env_path) = env_dylib_opt.filter(|value| !value.is_empty()) {
        let env_path = PathBuf::from(env_path);
        if env_path.is_file() {
            return Ok(env_path);
        }
        return Err(EmbedError::ModelUnavailable(format!(
            "ONNX Runtime library not found at {} (ORT_DYLIB_PATH) nor at {}/libonnxruntime.so*: {FETCH_HINT}",
            env_path.display(),
            runtime_dir.display()
        )));
    }
    Err(EmbedError::ModelUnavailable(format!(
        "ONNX Runtime library not found at {}/libonnxruntime.so*: {FETCH_HINT}",
        runtime_dir.display()
    )))
}

/// The process's ONNX Runtime environment, loading the library on first use.
pub fn environment(models_dir: &Path, configured_opt: Option<&Path>) -> Result<Environment, EmbedError> {
    let mut runtime = RUNTIME.lock();
    if let Some((_, environment)) = runtime.as_ref() {
        return Ok(environment.clone());
    }
    let env_dylib_opt = std::env::var("ORT_DYLIB_PATH").ok();
    let path = resolve_runtime_path(models_dir, configured_opt, env_dylib_opt.as_deref())?;
    let builder = ort::init_from(&path).map_err(|error| {
        EmbedError::ModelUnavailable(format!(
            "cannot load the ONNX Runtime library {}: {error}; {FETCH_HINT}",
            path.display()
        ))
    })?;
    let environment = builder
        .with_name("iris")
        .with_telemetry(false)
        .build()
        .map_err(|error| {
            EmbedError::ModelUnavailable(format!("cannot start ONNX Runtime from {}: {error}", path.display()))
        })?;
    tracing::info!(library = %path.display(), "loaded ONNX Runtime");
    *runtime = Some((path, environment.clone()));
    Ok(environment)
}

/// An input tensor, row-major.
#[derive(Debug, Clone)]
pub enum InputTensor {
    F32 { shape: Vec<usize>, values: Vec<f32> },
    I64 { shape: Vec<usize>, values: Vec<i64> },
}

impl InputTensor {
    fn into_value(self) -> ort::Result<DynValue> {
        Ok(match self {
            InputTensor::F32 { shape, values } => Tensor::from_array((shape, values))?.into_dyn(),
            InputTensor::I64 { shape, values } => Tensor::from_array((shape, values))?.into_dyn(),
        })
    }
}

/// One f32 output, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// What a model file declares: input and output names with their static shapes (`-1` where
/// dynamic).
#[derive(Debug, Clone)]
pub struct SessionSignature {
    pub inputs: Vec<(String, Vec<i64>)>,
    pub outputs: Vec<(String, Vec<i64>)>,
}

impl SessionSignature {
    pub fn input_names(&self) -> Vec<&str> {
        self.inputs.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The most inputs one run takes: a model exported with a fixed batch size (often 1)
    /// takes that many, a dynamic batch is capped at `cap`.
    pub fn batch_limit(&self, cap: usize) -> usize {
        let fixed_batch_opt = self
            .inputs
            .iter()
            .filter_map(|(_, shape)| shape.first().copied())
            .filter(|batch| *batch > 0)
            .min();
        fixed_batch_opt.map_or(cap, |batch| usize::try_from(batch).unwrap_or(1).clamp(1, cap))
    }

    /// The static last dimension of `output`, if the file declares one.
    pub fn output_last_dim(&self, output: &str) -> Option<Option<i64>> {
        self.outputs
            .iter()
            .find(|(name, _)| name == output)
            .map(|(_, shape)| shape.last().copied().filter(|dim| *dim >= 0))
    }

    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|(name, _)| name.as_str()).collect()
    }
}

/// One ONNX session. `Session::run` needs `&mut`, so runs take turns behind a mutex: each
/// run already uses `inference_threads` cores, and a second session would double the memory
/// without more cores to run it on.
pub struct OnnxSession {
    path: PathBuf,
    signature: SessionSignature,
    session: Mutex<Session>,
}

impl std::fmt::Debug for OnnxSession {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OnnxSession")
            .field("path", &self.path)
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

impl OnnxSession {
    /// Loads `model_path`; `intra_threads` 0 leaves ONNX Runtime's default (all cores).
    pub fn create(
        environment: &Environment,
        model_path: &Path,
        intra_threads: usize,
    ) -> Result<OnnxSession, EmbedError> {
        // Builder errors carry the builder, which is neither Send nor Sync: keep only the text.
        let unavailable = |error: String| {
            EmbedError::ModelUnavailable(format!("cannot load the model {}: {error}", model_path.display()))
        };
        let mut builder = Session::builder(environment).map_err(|error| unavailable(error.to_string()))?;
        if intra_threads > 0 {
            builder = builder
                .with_intra_threads(intra_threads)
                .map_err(|error| unavailable(error.to_string()))?;
        }
        // ONNX Runtime's worker threads spin briefly after each run instead of sleeping. On an
        // idle 2-core machine (`iris bench embed`, tests/images) that is 198 / 187 / 150 images/s
        // at batch 1 / 8 / 32 against 151 / 178 / 148 without spinning: single images save
        // the ~1.5 ms of waking the threads. Under heavy concurrent load the spinning competes
        // with search threads for the cores; the figures then favour turning it off.
        builder = builder
            .with_intra_op_spinning(true)
            .map_err(|error| unavailable(error.to_string()))?;
        let session = builder
            .commit_from_file(model_path)
            .map_err(|error| unavailable(error.to_string()))?;
        let shape_of = |dtype: &ValueType| dtype.tensor_shape().map(|shape| shape.to_vec()).unwrap_or_default();
        let signature = SessionSignature {
            inputs: session
                .inputs()
                .iter()
                .map(|input| (input.name().to_string(), shape_of(input.dtype())))
                .collect(),
            outputs: session
                .outputs()
                .iter()
                .map(|output| (output.name().to_string(), shape_of(output.dtype())))
                .collect(),
        };
        Ok(OnnxSession {
            path: model_path.to_path_buf(),
            signature,
            session: Mutex::new(session),
        })
    }

    pub fn signature(&self) -> &SessionSignature {
        &self.signature
    }

    /// The model file this session runs.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn failure(&self, error: impl std::fmt::Display) -> EmbedError {
        EmbedError::Inference(format!("{}: {error}", self.path.display()))
    }

    /// Runs the model once on `inputs` and hands its outputs to `read`, under the session lock.
    fn run_with<T>(
        &self,
        inputs: Vec<(String, InputTensor)>,
        read: impl FnOnce(&ort::session::SessionOutputs) -> Result<T, EmbedError>,
    ) -> Result<T, EmbedError> {
        let mut values = Vec::with_capacity(inputs.len());
        for (name, tensor) in inputs {
            values.push((name, tensor.into_value().map_err(|error| self.failure(error))?));
        }
        let mut session = self.session.lock();
        let outputs = session.run(values).map_err(|error| self.failure(error))?;
        read(&outputs)
    }

    /// Runs once and returns every f32 output by name (ONNX Runtime computes them all).
    pub fn run_all(&self, inputs: Vec<(String, InputTensor)>) -> Result<HashMap<String, OutputTensor>, EmbedError> {
        self.run_with(inputs, |outputs| {
            Ok(outputs
                .iter()
                .filter_map(|(name, value)| Some((name.to_string(), OutputTensor::read(&value).ok()?)))
                .collect())
        })
    }

    /// Runs the model once on `inputs` and returns the f32 output `output`.
    pub fn run(&self, inputs: Vec<(String, InputTensor)>, output: &str) -> Result<OutputTensor, EmbedError> {
        self.run_with(inputs, |outputs| {
            let value = outputs
                .get(output)
                .ok_or_else(|| self.failure(format!("the model has no output [{output}]")))?;
            OutputTensor::read(value)
                .map_err(|error| self.failure(format!("output [{output}] is not an f32 tensor: {error}")))
        })
    }
}

impl OutputTensor {
    /// Copies an f32 tensor out of the runtime's buffer.
    fn read(value: &ort::value::DynValue) -> Result<OutputTensor, ort::Error> {
        let (shape, data) = value.try_extract_tensor::<f32>()?;
        Ok(OutputTensor {
            shape: shape.iter().map(|dim| usize::try_from(*dim).unwrap_or(0)).collect(),
            values: data.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_path_prefers_config_then_models_runtime_then_env() {
        let models = tempfile::tempdir().expect("tempdir");
        let error = resolve_runtime_path(models.path(), None, None).unwrap_err();
        assert_eq!(
            error,
            EmbedError::ModelUnavailable(format!(
                "ONNX Runtime library not found at {}/runtime/libonnxruntime.so*: run `bash scripts/fetch_models.sh`",
                models.path().display()
            ))
        );
        let elsewhere = models.path().join("elsewhere.so");
        std::fs::write(&elsewhere, b"").expect("write");
        let env_value = elsewhere.to_string_lossy().into_owned();
        assert_eq!(
            resolve_runtime_path(models.path(), None, Some(&env_value)).expect("env"),
            elsewhere
        );

        std::fs::create_dir(models.path().join("runtime")).expect("mkdir");
        for name in ["libonnxruntime.so", "libonnxruntime.so.1.31.1"] {
            std::fs::write(models.path().join("runtime").join(name), b"").expect("write");
        }
        assert_eq!(
            resolve_runtime_path(models.path(), None, Some(&env_value)).expect("runtime"),
            models.path().join("runtime/libonnxruntime.so.1.31.1")
        );
        assert_eq!(
            resolve_runtime_path(models.path(), Some(&elsewhere), None).expect("configured"),
            elsewhere
        );
        let missing = models.path().join("missing.so");
        let EmbedError::ModelUnavailable(message) =
            resolve_runtime_path(models.path(), Some(&missing), None).unwrap_err()
        else {
            panic!("model unavailable expected");
        };
        assert!(message.contains("missing.so (the `onnxruntime` setting)"), "{message}");
    }

    #[test]
    fn batch_limit_follows_a_fixed_batch_dimension() {
        let signature = |batch: i64| SessionSignature {
            inputs: vec![("pixel_values".into(), vec![batch, 3, 224, 224])],
            outputs: vec![("image_embeds".into(), vec![batch, 1280])],
        };
        assert_eq!(signature(-1).batch_limit(32), 32);
        assert_eq!(signature(1).batch_limit(32), 1);
        assert_eq!(signature(64).batch_limit(32), 32);
        assert_eq!(signature(-1).output_last_dim("image_embeds"), Some(Some(1280)));
        assert_eq!(signature(-1).output_last_dim("logits"), None);
    }
}
