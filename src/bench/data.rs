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

/// A small seeded generator (xorshift) so every run indexes the same documents.
pub struct Generator {
    state: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator { state: seed.max(1) }
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
        json!({
            "caption": caption,
            "tags": [subject, self.pick(ADJECTIVES)],
            "price": (self.next() % 10_000) as f64 / 100.0,
            "taken": chrono::DateTime::from_timestamp(1_577_836_800 + day as i64 * 86_400, 0)
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            "source_url": format!("https://images.example/{n}.jpg"),
        })
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

/// The mapping used by the benchmark index.
pub fn mapping() -> Value {
    json!({
        "settings": {"number_of_replicas": 0},
        "mappings": {"properties": {
            "caption": {"type": "text"},
            "tags": {"type": "keyword"},
            "price": {"type": "double"},
            "taken": {"type": "date"},
            "source_url": {"type": "keyword"}
        }}
    })
}
