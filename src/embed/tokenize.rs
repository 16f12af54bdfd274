//! Texts → i64 token tensors for a text tower, with any Hugging Face `tokenizer.json`
//! (WordPiece for MiniLM, byte-level BPE for CLIP). Truncation and padding come from the
//! manifest, not from the tokenizer file, so one file can serve towers with different limits.

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use super::EmbedError;

/// One batch of token sequences, row-major `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    pub batch: usize,
    pub seq_len: usize,
    pub ids: Vec<i64>,
    /// 1 for real tokens, 0 for padding.
    pub mask: Vec<i64>,
    /// Segment ids (all zeros for a single sequence).
    pub type_ids: Vec<i64>,
}

impl TokenBatch {
    pub fn shape(&self) -> [usize; 2] {
        [self.batch, self.seq_len]
    }

    /// The ids of row `row`, padding included.
    pub fn row_ids(&self, row: usize) -> &[i64] {
        &self.ids[row * self.seq_len..(row + 1) * self.seq_len]
    }

    pub fn row_mask(&self, row: usize) -> &[i64] {
        &self.mask[row * self.seq_len..(row + 1) * self.seq_len]
    }
}

/// A loaded tokenizer with the tower's truncation and padding.
pub struct TextTokenizer {
    tokenizer: Tokenizer,
    max_tokens: usize,
    pad_to_opt: Option<usize>,
    pad_id: i64,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TextTokenizer")
            .field("max_tokens", &self.max_tokens)
            .field("pad_to", &self.pad_to_opt)
            .field("pad_id", &self.pad_id)
            .finish_non_exhaustive()
    }
}

impl TextTokenizer {
    /// Loads `tokenizer.json`; sequences are cut to `max_tokens` (special tokens included)
    /// and padded with `pad_id` to `pad_to`, or to the longest sequence of the batch.
    pub fn from_file(
        path: &Path,
        max_tokens: usize,
        pad_to_opt: Option<usize>,
        pad_id: u32,
    ) -> Result<TextTokenizer, EmbedError> {
        let mut tokenizer = Tokenizer::from_file(path).map_err(|error| {
            EmbedError::ModelUnavailable(format!("cannot load the tokenizer {}: {error}", path.display()))
        })?;
        let truncation = TruncationParams {
            max_length: max_tokens,
            ..TruncationParams::default()
        };
        tokenizer.with_truncation(Some(truncation)).map_err(|error| {
            EmbedError::ModelUnavailable(format!(
                "cannot truncate with the tokenizer {}: {error}",
                path.display()
            ))
        })?;
        // Padding is done here, so that pad_to and pad_id come from the manifest.
        tokenizer.with_padding(None);
        Ok(TextTokenizer {
            tokenizer,
            max_tokens,
            pad_to_opt,
            pad_id: i64::from(pad_id),
        })
    }

    /// Tokenizes `texts` as one padded batch.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<TokenBatch, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|error| EmbedError::Inference(format!("tokenization failed: {error}")))?;
        let longest = encodings.iter().map(|encoding| encoding.len()).max().unwrap_or(0);
        debug_assert!(
            longest <= self.max_tokens,
            "truncation keeps sequences within max_tokens"
        );
        let seq_len = self.pad_to_opt.unwrap_or(longest).max(longest).max(1);
        let batch = encodings.len();
        let mut ids = vec![self.pad_id; batch * seq_len];
        let mut mask = vec![0; batch * seq_len];
        let mut type_ids = vec![0; batch * seq_len];
        for (row, encoding) in encodings.iter().enumerate() {
            let start = row * seq_len;
            for (position, ((id, attention), type_id)) in encoding
                .get_ids()
                .iter()
                .zip(encoding.get_attention_mask())
                .zip(encoding.get_type_ids())
                .enumerate()
            {
                ids[start + position] = i64::from(*id);
                mask[start + position] = i64::from(*attention);
                type_ids[start + position] = i64::from(*type_id);
            }
        }
        Ok(TokenBatch {
            batch,
            seq_len,
            ids,
            mask,
            type_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny WordPiece tokenizer with BERT's template, written as `tokenizer.json`.
    fn tiny_tokenizer(dir: &Path) -> std::path::PathBuf {
        let json = serde_json::json!({
            "version": "1.0",
            "truncation": {"max_length": 128, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": null,
                        "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
            "added_tokens": [],
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {
                    "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                    "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
                }
            },
            "decoder": null,
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100,
                      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "cat": 5, "kit": 6,
                                "##ten": 7, "rocket": 8}}
        });
        let path = dir.join("tokenizer.json");
        std::fs::write(&path, json.to_string()).expect("write tokenizer");
        path
    }

    #[test]
    fn pads_to_the_longest_and_masks_the_padding() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokenizer = TextTokenizer::from_file(&tiny_tokenizer(dir.path()), 16, None, 0).expect("load");
        let batch = tokenizer
            .encode_batch(&["A cat", "a kitten", "rocket"])
            .expect("encode");
        assert_eq!(batch.shape(), [3, 5]);
        assert_eq!(batch.row_ids(0), &[2, 4, 5, 3, 0]);
        assert_eq!(batch.row_ids(1), &[2, 4, 6, 7, 3]);
        assert_eq!(batch.row_ids(2), &[2, 8, 3, 0, 0]);
        assert_eq!(batch.row_mask(2), &[1, 1, 1, 0, 0]);
        assert_eq!(batch.type_ids, vec![0; 15]);
    }

    #[test]
    fn truncates_to_max_tokens_and_pads_to_a_fixed_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokenizer = TextTokenizer::from_file(&tiny_tokenizer(dir.path()), 4, Some(6), 9).expect("load");
        let batch = tokenizer.encode_batch(&["a cat a cat a cat", "a"]).expect("encode");
        assert_eq!(batch.shape(), [2, 6]);
        // [CLS] a cat [SEP]: the special tokens count towards max_tokens.
        assert_eq!(batch.row_ids(0), &[2, 4, 5, 3, 9, 9]);
        assert_eq!(batch.row_mask(0), &[1, 1, 1, 1, 0, 0]);
        assert_eq!(batch.row_ids(1), &[2, 4, 3, 9, 9, 9]);
    }

    #[test]
    fn a_missing_file_is_model_unavailable() {
        let error = TextTokenizer::from_file(Path::new("/nonexistent/tokenizer.json"), 8, None, 0).unwrap_err();
        assert!(
            matches!(&error, EmbedError::ModelUnavailable(message) if message.contains("/nonexistent/tokenizer.json")),
            "{error:?}"
        );
    }
}
