//! Recent image-tower outputs, per image. One image tower often feeds several endpoints
//! (`efficientnet-lite0` and its text-space bridge read different outputs of one run), and a
//! pipeline embedding an image with both would otherwise run the model twice per image. A
//! run keeps every output of each image here; the next endpoint asking for the same image
//! and tower finds its output without inference.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// One image's outputs: output name → (shape without the batch dimension, values).
pub type ImageOutputs = HashMap<String, (Vec<usize>, Vec<f32>)>;

type Key = (PathBuf, [u8; 32]);

/// The entries, and their keys oldest first.
type Entries = (HashMap<Key, Arc<ImageOutputs>>, VecDeque<Key>);

/// A bounded first-in-first-out cache keyed by model file and image bytes (sha256).
#[derive(Debug)]
pub struct OutputCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The cache key of an image for a model file.
pub fn image_key(model_file: &std::path::Path, bytes: &[u8]) -> Key {
    (model_file.to_path_buf(), Sha256::digest(bytes).into())
}

impl OutputCache {
    pub fn new(capacity: usize) -> OutputCache {
        OutputCache {
            capacity,
            entries: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    pub fn get(&self, key: &Key) -> Option<Arc<ImageOutputs>> {
        self.entries.lock().0.get(key).cloned()
    }

    pub fn insert(&self, key: Key, outputs: ImageOutputs) {
        let mut guard = self.entries.lock();
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), Arc::new(outputs)).is_none() {
            order.push_back(key);
        }
        while order.len() > self.capacity {
            if let Some(oldest) = order.pop_front() {
                map.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_entries() {
        let cache = OutputCache::new(2);
        let path = PathBuf::from("m.onnx");
        for bytes in [b"a", b"b", b"c"] {
            let mut outputs = ImageOutputs::new();
            outputs.insert("o".into(), (vec![1], vec![f32::from(bytes[0])]));
            cache.insert(image_key(&path, bytes), outputs);
        }
        assert!(cache.get(&image_key(&path, b"a")).is_none());
        assert_eq!(cache.get(&image_key(&path, b"c")).expect("c")["o"].1, vec![99.0]);
        assert!(cache.get(&image_key(&PathBuf::from("other.onnx"), b"c")).is_none());
    }
}
