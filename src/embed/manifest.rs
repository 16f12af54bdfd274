//! `models/<folder>/manifest.json`: which files a model needs, how its ONNX towers are fed and
//! which endpoints (`model_id`s) it offers. The format is specified in `models/README.md`;
//! every struct here rejects unknown fields so a typo fails at start instead of silently
//! changing the vectors.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One model folder's manifest, as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    pub license: String,
    /// Every file the model needs, by a local name.
    pub files: BTreeMap<String, ModelFile>,
    /// The ONNX sessions, by a local name.
    pub towers: BTreeMap<String, Tower>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Relative to the model's folder; may point into another model's folder.
    pub path: PathBuf,
    /// Lower-case hex.
    pub sha256: String,
    pub fetch: Fetch,
}

/// Where a file comes from, so an error can say how to get it back.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fetch {
    /// In git.
    Committed,
    /// Downloaded by `scripts/fetch_models.sh`.
    Setup,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tower {
    Image(ImageTower),
    Text(TextTower),
}

impl Tower {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Tower::Image(_) => "image",
            Tower::Text(_) => "text",
        }
    }

    /// The local name of the ONNX file.
    pub fn file(&self) -> &str {
        match self {
            Tower::Image(tower) => &tower.file,
            Tower::Text(tower) => &tower.file,
        }
    }

    /// The ONNX input names this tower feeds.
    pub fn input_names(&self) -> Vec<&str> {
        match self {
            Tower::Image(tower) => vec![tower.input.as_str()],
            Tower::Text(tower) => {
                let mut names = vec![tower.inputs.ids.as_str(), tower.inputs.mask.as_str()];
                names.extend(tower.inputs.type_ids.as_deref());
                names
            }
        }
    }
}

/// An image encoder with one f32 input `[batch, 3, H, W]` (`nchw`) or `[batch, H, W, 3]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageTower {
    pub file: String,
    pub input: String,
    pub preprocess: Preprocess,
}

/// decode → RGB → resize the shortest side → centre-crop → `(x * scale - mean[c]) / std[c]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    pub resize_shortest: u32,
    pub filter: ResizeFilter,
    /// `[width, height]`.
    pub crop: [u32; 2],
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub layout: Layout,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResizeFilter {
    /// Bicubic; matches PIL's BICUBIC within a few grey levels.
    CatmullRom,
    /// Bilinear.
    Triangle,
    Lanczos3,
    Nearest,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// A text encoder fed i64 `[batch, seq]` token ids from a Hugging Face `tokenizer.json`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextTower {
    pub file: String,
    /// The local name of the `tokenizer.json` file.
    pub tokenizer: String,
    pub max_tokens: usize,
    /// Pads every sequence to this length (CLIP's 77); otherwise to the longest in the batch.
    #[serde(default)]
    pub pad_to: Option<usize>,
    #[serde(default)]
    pub pad_id: Option<u32>,
    pub inputs: TextInputs,
}

/// ONNX input names of a text tower.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextInputs {
    pub ids: String,
    pub mask: String,
    #[serde(default)]
    pub type_ids: Option<String>,
}

/// A `model_id` users write: one vector space, reached from images, texts or both.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub id: String,
    pub description: String,
    pub dims: usize,
    /// Whether the vectors are unit length (whoever makes them so: the ONNX or `normalize`).
    pub normalized: bool,
    #[serde(default)]
    pub image: Option<Route>,
    #[serde(default)]
    pub text: Option<Route>,
}

/// Which tower output an endpoint reads, and how it becomes one vector per input.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub tower: String,
    pub output: String,
    pub pooling: Pooling,
    pub normalize: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The output already is `[batch, dims]`.
    None,
    /// Mean over the tokens the attention mask keeps.
    Mean,
    /// The first token.
    Cls,
    /// The token at the highest id of each sequence (CLIP's end-of-text token).
    Eos,
}

/// A manifest that passed [`Manifest::validate`], with where it was found.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The model folder's name (`models/<folder>`).
    pub folder: String,
    /// The model folder; file paths are relative to it.
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl LoadedModel {
    /// The path of the file named `local_name` in `files` (validated to exist in the manifest).
    pub fn file_path(&self, local_name: &str) -> Option<PathBuf> {
        self.manifest
            .files
            .get(local_name)
            .map(|file| self.dir.join(&file.path))
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

impl Manifest {
    /// Checks every cross-reference and constant; returns every problem found, one per line.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (name, file) in &self.files {
            if !is_sha256_hex(&file.sha256) {
                problems.push(format!("file [{name}]: sha256 must be 64 lower-case hex digits"));
            }
        }
        for (name, tower) in &self.towers {
            self.validate_tower(name, tower, &mut problems);
        }
        let mut seen_ids = HashSet::new();
        for endpoint in &self.endpoints {
            if !seen_ids.insert(endpoint.id.as_str()) {
                problems.push(format!("endpoint [{}] is declared twice", endpoint.id));
            }
            self.validate_endpoint(endpoint, &mut problems);
        }
        if self.endpoints.is_empty() {
            problems.push("no endpoints: declare at least one".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn validate_tower(&self, name: &str, tower: &Tower, problems: &mut Vec<String>) {
        if !self.files.contains_key(tower.file()) {
            problems.push(format!("tower [{name}]: unknown file [{}]", tower.file()));
        }
        match tower {
            Tower::Image(image) => {
                let preprocess = &image.preprocess;
                let [crop_width, crop_height] = preprocess.crop;
                if crop_width == 0 || crop_height == 0 || preprocess.resize_shortest == 0 {
                    problems.push(format!("tower [{name}]: resize_shortest and crop must be positive"));
                }
                // The resized image's shortest side is resize_shortest, so a larger crop
                // would need padding, which the manifest cannot express.
                if crop_width > preprocess.resize_shortest || crop_height > preprocess.resize_shortest {
                    problems.push(format!(
                        "tower [{name}]: crop {:?} is larger than resize_shortest {}",
                        preprocess.crop, preprocess.resize_shortest
                    ));
                }
                if preprocess.std.iter().any(|value| *value == 0.0 || !value.is_finite()) {
                    problems.push(format!("tower [{name}]: std values must be finite and non-zero"));
                }
                if !preprocess.scale.is_finite() || preprocess.mean.iter().any(|value| !value.is_finite()) {
                    problems.push(format!("tower [{name}]: scale and mean must be finite"));
                }
            }
            Tower::Text(text) => {
                if !self.files.contains_key(&text.tokenizer) {
                    problems.push(format!("tower [{name}]: unknown tokenizer file [{}]", text.tokenizer));
                }
                if text.max_tokens < 2 {
                    problems.push(format!("tower [{name}]: max_tokens must be at least 2"));
                }
                if let Some(pad_to) = text.pad_to
                    && pad_to < text.max_tokens
                {
                    problems.push(format!(
                        "tower [{name}]: pad_to {pad_to} is shorter than max_tokens {}",
                        text.max_tokens
                    ));
                }
            }
        }
    }

    fn validate_endpoint(&self, endpoint: &Endpoint, problems: &mut Vec<String>) {
        let id = &endpoint.id;
        if id.is_empty() {
            problems.push("an endpoint has an empty id".to_string());
        }
        if endpoint.dims == 0 {
            problems.push(format!("endpoint [{id}]: dims must be positive"));
        }
        if endpoint.image.is_none() && endpoint.text.is_none() {
            problems.push(format!(
                "endpoint [{id}] has no route: give it an `image` route, a `text` route or both"
            ));
        }
        let routes = [("image", &endpoint.image), ("text", &endpoint.text)];
        for (kind, route) in routes {
            let Some(route) = route else {
                continue;
            };
            let Some(tower) = self.towers.get(&route.tower) else {
                problems.push(format!(
                    "endpoint [{id}]: {kind} route names unknown tower [{}]",
                    route.tower
                ));
                continue;
            };
            if tower.kind_name() != kind {
                problems.push(format!(
                    "endpoint [{id}]: {kind} route names tower [{}], which is a {} tower",
                    route.tower,
                    tower.kind_name()
                ));
            }
            if kind == "image" && route.pooling == Pooling::Eos {
                problems.push(format!(
                    "endpoint [{id}]: eos pooling needs token ids, so it only works on text"
                ));
            }
            if route.output.is_empty() {
                problems.push(format!("endpoint [{id}]: {kind} route has an empty output name"));
            }
        }
    }
}

/// Why the manifests could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid model manifest {path}: {reason}")]
pub struct ManifestError {
    pub path: String,
    pub reason: String,
}

/// Reads and validates every `<models_dir>/*/manifest.json`, sorted by folder. Folders
/// without one (such as `runtime/`) are skipped. Endpoint ids must be unique across models.
pub fn load_all(models_dir: &Path) -> Result<Vec<LoadedModel>, ManifestError> {
    let error = |path: &Path, reason: String| ManifestError {
        path: path.display().to_string(),
        reason,
    };
    let entries = match std::fs::read_dir(models_dir) {
        Ok(entries) => entries,
        Err(read_error) if read_error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(read_error) => return Err(error(models_dir, format!("cannot list the folder: {read_error}"))),
    };
    let mut manifest_paths: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("manifest.json").is_file())
        .map(|entry| (entry.file_name().to_string_lossy().into_owned(), entry.path()))
        .collect();
    manifest_paths.sort();
    let mut models = Vec::with_capacity(manifest_paths.len());
    let mut endpoint_folders: BTreeMap<String, String> = BTreeMap::new();
    for (folder, dir) in manifest_paths {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|read_error| error(&path, read_error.to_string()))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|parse_error| error(&path, parse_error.to_string()))?;
        manifest.validate().map_err(|reason| error(&path, reason))?;
        for endpoint in &manifest.endpoints {
            if let Some(other_folder) = endpoint_folders.insert(endpoint.id.clone(), folder.clone()) {
                return Err(error(
                    &path,
                    format!("endpoint [{}] is also declared in models/{other_folder}", endpoint.id),
                ));
            }
        }
        models.push(LoadedModel { folder, dir, manifest });
    }
    Ok(models)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The manifest of models/README.md, with `sha256` values that pass the format check.
    pub(crate) fn readme_manifest() -> Value {
        let sha = "0".repeat(64);
        json!({
          "name": "efficientnet-lite0",
          "description": "EfficientNet-Lite0 image features with a ConSE bridge",
          "license": "Apache-2.0",
          "files": {
            "image_model": {"path": "model.onnx", "sha256": sha, "fetch": "committed"},
            "text_model": {"path": "../minilm-l6-v2/model.onnx", "sha256": sha, "fetch": "setup"},
            "tokenizer": {"path": "../minilm-l6-v2/tokenizer.json", "sha256": sha, "fetch": "committed"}
          },
          "towers": {
            "image": {
              "kind": "image",
              "file": "image_model",
              "input": "pixel_values",
              "preprocess": {
                "resize_shortest": 224,
                "filter": "catmull_rom",
                "crop": [224, 224],
                "scale": 0.00392156862745098,
                "mean": [0.498, 0.498, 0.498],
                "std": [0.502, 0.502, 0.502],
                "layout": "nchw"
              }
            },
            "text": {
              "kind": "text",
              "file": "text_model",
              "tokenizer": "tokenizer",
              "max_tokens": 256,
              "inputs": {"ids": "input_ids", "mask": "attention_mask", "type_ids": "token_type_ids"}
            }
          },
          "endpoints": [
            {
              "id": "efficientnet-lite0",
              "description": "image features",
              "dims": 1280,
              "normalized": true,
              "image": {"tower": "image", "output": "image_embeds", "pooling": "none", "normalize": false}
            },
            {
              "id": "efficientnet-lite0-text-space",
              "description": "text space",
              "dims": 384,
              "normalized": true,
              "image": {"tower": "image", "output": "text_space_embeds", "pooling": "none", "normalize": false},
              "text": {"tower": "text", "output": "last_hidden_state", "pooling": "mean", "normalize": true}
            }
          ]
        })
    }

    fn parse(value: Value) -> Result<Manifest, String> {
        let manifest: Manifest = serde_json::from_value(value).map_err(|error| error.to_string())?;
        manifest.validate()?;
        Ok(manifest)
    }

    #[test]
    fn readme_example_parses_and_validates() {
        let manifest = parse(readme_manifest()).expect("valid");
        assert_eq!(manifest.endpoints.len(), 2);
        let Tower::Image(image) = &manifest.towers["image"] else {
            panic!("image tower expected");
        };
        assert_eq!(image.preprocess.filter, ResizeFilter::CatmullRom);
        assert_eq!(image.preprocess.layout, Layout::Nchw);
        let Tower::Text(text) = &manifest.towers["text"] else {
            panic!("text tower expected");
        };
        assert_eq!(text.inputs.type_ids.as_deref(), Some("token_type_ids"));
        assert_eq!(text.pad_to, None);
        assert_eq!(manifest.files["text_model"].fetch, Fetch::Setup);
        assert_eq!(
            manifest.endpoints[1].text.as_ref().map(|route| route.pooling),
            Some(Pooling::Mean)
        );
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        let mut top = readme_manifest();
        top["bogus"] = json!(1);
        assert!(parse(top).unwrap_err().contains("unknown field `bogus`"));
        let mut tower = readme_manifest();
        tower["towers"]["image"]["preprocess"]["gamma"] = json!(2.2);
        assert!(parse(tower).unwrap_err().contains("unknown field `gamma`"));
        let mut text_tower = readme_manifest();
        text_tower["towers"]["text"]["max_length"] = json!(2);
        assert!(parse(text_tower).unwrap_err().contains("unknown field `max_length`"));
        let mut route = readme_manifest();
        route["endpoints"][0]["image"]["pool"] = json!("none");
        assert!(parse(route).unwrap_err().contains("unknown field `pool`"));
        let mut kind = readme_manifest();
        kind["towers"]["image"]["kind"] = json!("audio");
        assert!(parse(kind).unwrap_err().contains("unknown variant `audio`"));
        let mut filter = readme_manifest();
        filter["towers"]["image"]["preprocess"]["filter"] = json!("bicubic");
        assert!(parse(filter).unwrap_err().contains("unknown variant `bicubic`"));
    }

    #[test]
    fn cross_references_are_checked() {
        let mut unknown_tower = readme_manifest();
        unknown_tower["endpoints"][0]["image"]["tower"] = json!("vision");
        assert_eq!(
            parse(unknown_tower).unwrap_err(),
            "endpoint [efficientnet-lite0]: image route names unknown tower [vision]"
        );
        let mut unknown_file = readme_manifest();
        unknown_file["towers"]["image"]["file"] = json!("weights");
        assert_eq!(
            parse(unknown_file).unwrap_err(),
            "tower [image]: unknown file [weights]"
        );
        let mut unknown_tokenizer = readme_manifest();
        unknown_tokenizer["towers"]["text"]["tokenizer"] = json!("vocab");
        assert_eq!(
            parse(unknown_tokenizer).unwrap_err(),
            "tower [text]: unknown tokenizer file [vocab]"
        );
        let mut wrong_kind = readme_manifest();
        wrong_kind["endpoints"][1]["text"]["tower"] = json!("image");
        assert_eq!(
            parse(wrong_kind).unwrap_err(),
            "endpoint [efficientnet-lite0-text-space]: text route names tower [image], which is a image tower"
        );
        let mut no_route = readme_manifest();
        no_route["endpoints"][0]
            .as_object_mut()
            .expect("object")
            .remove("image");
        assert_eq!(
            parse(no_route).unwrap_err(),
            "endpoint [efficientnet-lite0] has no route: give it an `image` route, a `text` route or both"
        );
    }

    #[test]
    fn constants_are_checked() {
        let mut crop = readme_manifest();
        crop["towers"]["image"]["preprocess"]["crop"] = json!([256, 224]);
        assert_eq!(
            parse(crop).unwrap_err(),
            "tower [image]: crop [256, 224] is larger than resize_shortest 224"
        );
        let mut std = readme_manifest();
        std["towers"]["image"]["preprocess"]["std"] = json!([0.5, 0.0, 0.5]);
        assert_eq!(
            parse(std).unwrap_err(),
            "tower [image]: std values must be finite and non-zero"
        );
        let mut sha = readme_manifest();
        sha["files"]["tokenizer"]["sha256"] = json!("ABC");
        assert_eq!(
            parse(sha).unwrap_err(),
            "file [tokenizer]: sha256 must be 64 lower-case hex digits"
        );
        let mut pad = readme_manifest();
        pad["towers"]["text"]["pad_to"] = json!(77);
        assert_eq!(
            parse(pad).unwrap_err(),
            "tower [text]: pad_to 77 is shorter than max_tokens 256"
        );
        let mut dims = readme_manifest();
        dims["endpoints"][0]["dims"] = json!(0);
        assert_eq!(
            parse(dims).unwrap_err(),
            "endpoint [efficientnet-lite0]: dims must be positive"
        );
        let mut eos = readme_manifest();
        eos["endpoints"][0]["image"]["pooling"] = json!("eos");
        assert_eq!(
            parse(eos).unwrap_err(),
            "endpoint [efficientnet-lite0]: eos pooling needs token ids, so it only works on text"
        );
        let mut twice = readme_manifest();
        twice["endpoints"][1]["id"] = json!("efficientnet-lite0");
        assert_eq!(
            parse(twice).unwrap_err(),
            "endpoint [efficientnet-lite0] is declared twice"
        );
    }

    #[test]
    fn load_all_reads_folders_with_a_manifest_and_rejects_duplicate_endpoints() {
        let models = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(models.path().join("runtime")).expect("mkdir");
        for folder in ["b-model", "a-model"] {
            std::fs::create_dir(models.path().join(folder)).expect("mkdir");
        }
        std::fs::write(
            models.path().join("a-model/manifest.json"),
            readme_manifest().to_string(),
        )
        .expect("write");
        let loaded = load_all(models.path()).expect("load");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].folder, "a-model");
        assert_eq!(
            loaded[0].file_path("text_model"),
            Some(models.path().join("a-model/../minilm-l6-v2/model.onnx"))
        );

        std::fs::write(
            models.path().join("b-model/manifest.json"),
            readme_manifest().to_string(),
        )
        .expect("write");
        let error = load_all(models.path()).unwrap_err();
        assert!(error.path.ends_with("b-model/manifest.json"), "{error}");
        assert_eq!(
            error.reason,
            "endpoint [efficientnet-lite0] is also declared in models/a-model"
        );

        std::fs::write(models.path().join("b-model/manifest.json"), "{").expect("write");
        assert!(load_all(models.path()).unwrap_err().reason.contains("EOF"));
        assert!(load_all(&models.path().join("missing")).expect("no folder").is_empty());
    }

    /// Every manifest committed under `models/` must load: the server refuses to start otherwise.
    #[test]
    fn committed_manifests_are_valid() {
        let models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        if let Err(error) = load_all(&models_dir) {
            panic!("{error}");
        }
    }
}
