//! Deterministic synthetic image-metadata documents and queries for benchmarks.

use serde_json::{Value, json};

const SUBJECTS: &[&str] = &[
    "cat",
    "dog",
    "coffee",
    "rocket",
    "motorcycle",
    "temple",
    "flower",
    "astronaut",
    "beach",
    "mountain",
    "city",
    "forest",
    "car",
    "bicycle",
    "bird",
    "horse",
    "boat",
    "bridge",
    "castle",
    "garden",
];
const ADJECTIVES: &[&str] = &[
    "red", "blue", "green", "old", "small", "large", "bright", "dark", "quiet", "busy", "golden", "misty", "snowy",
    "sunny", "rainy", "vintage",
];
const PLACES: &[&str] = &[
    "in the park",
    "on the street",
    "at night",
    "by the sea",
    "under a tree",
    "in the snow",
    "at sunset",
    "near the river",
    "in the studio",
    "on a table",
];

/// Vectors read from TEXMEX files: document n gets base row n (cycling), queries go in turn.
pub struct VectorRows {
    dims: usize,
    base: Vec<f32>,
    queries: Vec<f32>,
}

impl VectorRows {
    pub fn read(base: &std::path::Path, queries: &std::path::Path) -> anyhow::Result<VectorRows> {
        let (dims, base) = super::knn::read_fvecs(base)?;
        let (query_dims, queries) = super::knn::read_fvecs(queries)?;
        if dims != query_dims || base.is_empty() || queries.is_empty() {
            anyhow::bail!("base ({dims} dims) and query ({query_dims} dims) vectors must be non-empty with equal dims");
        }
        Ok(VectorRows { dims, base, queries })
    }

    fn row(rows: &[f32], dims: usize, n: usize) -> Vec<f32> {
        let count = rows.len() / dims;
        rows[(n % count) * dims..(n % count + 1) * dims].to_vec()
    }
}

/// A small seeded generator (xorshift) so every run indexes the same documents.
pub struct Generator {
    state: u64,
    /// Dimensions of the `vec` field (0: documents carry no vector).
    vector_dims: usize,
    /// Vectors from files instead of random ones.
    rows: Option<std::sync::Arc<VectorRows>>,
    /// Images given to documents in turn.
    images: Option<std::sync::Arc<Vec<Vec<u8>>>>,
    /// Documents carry the two vector fields of the fused-query benchmark.
    fusion: bool,
    queries_made: usize,
}

/// What one fused query searches with: a caption text, an image-space vector and a text-space
/// vector. Every query form of the fusion benchmark is built from the same inputs in turn.
pub struct FusionInput {
    pub text: String,
    pub image_vec: Vec<f32>,
    pub text_space: Vec<f32>,
}

/// Dimensions of the fusion benchmark's `image_vec` (EfficientNet-Lite0's) and `text_space`
/// (MiniLM's) fields.
pub const FUSION_IMAGE_DIMS: usize = 1280;
pub const FUSION_TEXT_DIMS: usize = 384;

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            state: seed.max(1),
            vector_dims: 0,
            rows: None,
            images: None,
            fusion: false,
            queries_made: 0,
        }
    }

    /// Gives documents these images in turn (base64).
    pub fn with_images(self, images: std::sync::Arc<Vec<Vec<u8>>>) -> Generator {
        Generator {
            images: Some(images),
            ..self
        }
    }

    /// A top-level kNN search over the images' text-space vectors with a query text that
    /// `minilm-l6-v2` embeds (k 10, num_candidates 100).
    pub fn text_to_image_query(&mut self) -> Value {
        let subject = self.pick(SUBJECTS);
        json!({"knn": {"field": "text_space", "k": 10, "num_candidates": 100,
            "query_vector_builder": {"text_embedding": {"model_id": "minilm-l6-v2", "model_text": format!("a photo of a {subject}")}}}})
    }

    /// Takes document and query vectors from files.
    pub fn with_vector_rows(self, rows: std::sync::Arc<VectorRows>) -> Generator {
        Generator {
            vector_dims: rows.dims,
            rows: Some(rows),
            ..self
        }
    }

    /// Dimensions of the documents' vectors (0: none).
    pub fn vector_dims(&self) -> usize {
        self.vector_dims
    }

    fn query_vector(&mut self) -> Vec<f32> {
        self.queries_made += 1;
        match &self.rows {
            Some(rows) => VectorRows::row(&rows.queries, rows.dims, self.queries_made - 1),
            None => self.unit_vector(),
        }
    }

    /// Adds a `vector_dims`-dimensional unit vector to every document.
    pub fn with_vectors(self, vector_dims: usize) -> Generator {
        Generator { vector_dims, ..self }
    }

    /// Gives documents random unit `image_vec` and `text_space` vectors.
    pub fn with_fusion_fields(self) -> Generator {
        Generator { fusion: true, ..self }
    }

    /// The inputs of the next fused query.
    pub fn fusion_input(&mut self) -> FusionInput {
        FusionInput {
            text: format!("{} {}", self.pick(ADJECTIVES), self.pick(SUBJECTS)),
            image_vec: self.unit_vector_of(FUSION_IMAGE_DIMS),
            text_space: self.unit_vector_of(FUSION_TEXT_DIMS),
        }
    }

    /// Returns a unit vector of the documents' `vec` dimensions.
    fn unit_vector(&mut self) -> Vec<f32> {
        self.unit_vector_of(self.vector_dims)
    }

    /// Returns a unit vector with components drawn from the generator.
    fn unit_vector_of(&mut self, dims: usize) -> Vec<f32> {
        let mut vector: Vec<f32> = (0..dims).map(|_| (self.next() % 2001) as f32 / 1000.0 - 1.0).collect();
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        vector.iter_mut().for_each(|x| *x /= norm);
        vector
    }

    /// Returns a top-level kNN search on `vec` (k 10, num_candidates 100); hits carry their
    /// `_source` (without the vector, as ES 9.2 returns it).
    pub fn knn_query(&mut self) -> Value {
        json!({"knn": {"field": "vec", "query_vector": self.query_vector(), "k": 10, "num_candidates": 100}})
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// Returns document number `n`.
    pub fn document(&mut self, n: usize) -> Value {
        let subject = self.pick(SUBJECTS);
        let caption = format!("A {} {} {}", self.pick(ADJECTIVES), subject, self.pick(PLACES));
        let day = self.next() % 1500;
        let vector = match &self.rows {
            Some(rows) => Some(VectorRows::row(&rows.base, rows.dims, n)),
            None => (self.vector_dims > 0).then(|| self.unit_vector()),
        };
        let mut document = json!({
            "caption": caption,
            "tags": [subject, self.pick(ADJECTIVES)],
            "price": (self.next() % 10_000) as f64 / 100.0,
            "taken": chrono::DateTime::from_timestamp(1_577_836_800 + day as i64 * 86_400, 0)
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            "source_url": format!("https://images.example/{n}.jpg"),
        });
        if let Some(images) = &self.images {
            use base64::Engine as _;
            let bytes = unique_image(&images[n % images.len()], n);
            document["image"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
        if let Some(vector) = vector {
            document["vec"] = json!(vector);
        }
        if self.fusion {
            document["image_vec"] = json!(self.unit_vector_of(FUSION_IMAGE_DIMS));
            document["text_space"] = json!(self.unit_vector_of(FUSION_TEXT_DIMS));
        }
        document
    }

    /// Returns a `match` query body on the caption.
    pub fn match_query(&mut self) -> Value {
        json!({"query": {"match": {"caption": format!("{} {}", self.pick(ADJECTIVES), self.pick(SUBJECTS))}}})
    }

    /// Returns a `bool` query: a caption match filtered by tag and price range.
    pub fn bool_range_query(&mut self) -> Value {
        let low = (self.next() % 50) as f64;
        json!({"query": {"bool": {
            "must": [{"match": {"caption": self.pick(SUBJECTS)}}],
            "filter": [{"term": {"tags": self.pick(ADJECTIVES)}}, {"range": {"price": {"gte": low, "lt": low + 30.0}}}]
        }}})
    }
}

/// The image with document number `n` written into a JPEG comment, so every document's
/// bytes differ (Iris caches model outputs by image bytes; a benchmark that repeats images
/// would measure the cache). Other formats are returned as they are.
pub fn unique_image(bytes: &[u8], n: usize) -> Vec<u8> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return bytes.to_vec();
    }
    let text = format!("iris bench document {n}");
    let length = (text.len() + 2) as u16;
    let mut out = Vec::with_capacity(bytes.len() + text.len() + 4);
    out.extend_from_slice(&bytes[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[2..]);
    out
}

/// The mapping used by the benchmark index (with a cosine `vec` field when `vector_dims` > 0).
pub fn mapping(vector_dims: usize) -> Value {
    let mut mapping = json!({
        "settings": {"number_of_replicas": 0},
        "mappings": {"properties": {
            "caption": {"type": "text"},
            "tags": {"type": "keyword"},
            "price": {"type": "double"},
            "taken": {"type": "date"},
            "source_url": {"type": "keyword"}
        }}
    });
    if vector_dims > 0 {
        mapping["mappings"]["properties"]["vec"] =
            json!({"type": "dense_vector", "dims": vector_dims, "similarity": "cosine"});
    }
    mapping
}
