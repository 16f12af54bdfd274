//! Elasticsearch analyzers implemented as tantivy tokenizers.
//!
//! Each [`EsAnalyzer`] reproduces the terms, positions and offsets that
//! Elasticsearch (Lucene 9) produces for the same text, so that BM25 scoring,
//! phrase queries and `_analyze` output line up with a real cluster. The
//! built-in analyzers are listed in [`BUILTIN_ANALYZERS`]; custom analyzers
//! are assembled from a [`TokenizerSpec`] and a chain of [`FilterSpec`]s.
//!
//! Offsets are byte offsets into the analyzed text (tantivy's convention);
//! Elasticsearch reports UTF-16 offsets, see [`utf16_offset`].

mod chars;
mod porter;

use std::collections::HashSet;
use std::sync::Arc;

use tantivy_tokenizer_api::{Token, TokenStream, Tokenizer};
use unicode_segmentation::UnicodeSegmentation;

use chars::{ascii_fold, is_complex_context, is_word_segment, java_is_whitespace, java_lowercase, java_upper};

/// Names of built-in analyzers Iris knows.
pub const BUILTIN_ANALYZERS: &[&str] = &["standard", "simple", "whitespace", "keyword", "stop", "english"];

/// Lucene's English stop word set (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`),
/// which Elasticsearch calls `_english_`.
pub const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

/// Default `max_token_length` of the standard, letter and whitespace tokenizers.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 255;

/// Largest `max_token_length` Lucene accepts (`StandardAnalyzer` rejects more).
pub const MAX_TOKEN_LENGTH_LIMIT: usize = 1024 * 1024;

/// Errors raised while building an analyzer from a definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// The tokenizer name is not one Iris implements.
    #[error("failed to find global tokenizer under [{0}]")]
    UnknownTokenizer(String),
    /// The token filter name is not one Iris implements.
    #[error("failed to find global token filter under [{0}]")]
    UnknownFilter(String),
    /// The analyzer name is neither built in nor defined.
    #[error("failed to find global analyzer [{0}]")]
    UnknownAnalyzer(String),
    /// A setting has a value Lucene would reject.
    #[error("invalid value for [{setting}]: {reason}")]
    InvalidSetting {
        /// The offending setting.
        setting: String,
        /// Why the value is rejected.
        reason: String,
    },
}

/// A tokenizer of an analyzer definition (the ES `tokenizer` setting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSpec {
    /// Lucene `StandardTokenizer`: UAX#29 word boundaries.
    Standard {
        /// Tokens longer than this many UTF-16 units are split at this length.
        max_token_length: usize,
    },
    /// Lucene `LetterTokenizer`: maximal runs of letters.
    Letter,
    /// Letter tokenizer that also lowercases (ES `lowercase` tokenizer).
    Lowercase,
    /// Lucene `WhitespaceTokenizer`: splits on Java whitespace.
    Whitespace {
        /// Tokens longer than this many UTF-16 units are split at this length.
        max_token_length: usize,
    },
    /// Lucene `KeywordTokenizer`: the whole input as one token.
    Keyword,
}

impl TokenizerSpec {
    /// Returns the tokenizer registered under `name` with default settings.
    pub fn from_name(name: &str) -> Result<TokenizerSpec, AnalysisError> {
        match name {
            "standard" => Ok(TokenizerSpec::Standard {
                max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
            }),
            "letter" => Ok(TokenizerSpec::Letter),
            "lowercase" => Ok(TokenizerSpec::Lowercase),
            "whitespace" => Ok(TokenizerSpec::Whitespace {
                max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
            }),
            "keyword" => Ok(TokenizerSpec::Keyword),
            other => Err(AnalysisError::UnknownTokenizer(other.to_owned())),
        }
    }

    fn validate(&self) -> Result<(), AnalysisError> {
        match self {
            TokenizerSpec::Standard { max_token_length } | TokenizerSpec::Whitespace { max_token_length }
                if !(1..=MAX_TOKEN_LENGTH_LIMIT).contains(max_token_length) =>
            {
                Err(AnalysisError::InvalidSetting {
                    setting: "max_token_length".to_owned(),
                    reason: format!("must be between 1 and {MAX_TOKEN_LENGTH_LIMIT}, got {max_token_length}"),
                })
            }
            _ => Ok(()),
        }
    }
}

/// A token filter of an analyzer definition (an entry of the ES `filter` list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterSpec {
    /// Lowercases each code point like Java's `Character.toLowerCase`.
    Lowercase,
    /// Uppercases each code point like Java's `Character.toUpperCase`.
    Uppercase,
    /// Folds accented Latin letters, ligatures, quotes, dashes and fullwidth
    /// forms to ASCII (a subset of Lucene's `ASCIIFoldingFilter` table).
    AsciiFolding,
    /// Removes the listed words, leaving a position gap like Lucene.
    Stop {
        /// The stop words.
        words: Vec<String>,
        /// Whether matching ignores case.
        ignore_case: bool,
    },
    /// The classic Porter stemmer (`porter_stem`).
    PorterStem,
    /// Strips a trailing `'s` (Lucene `EnglishPossessiveFilter`).
    EnglishPossessive,
    /// Trims leading and trailing whitespace; offsets are kept.
    Trim,
    /// Keeps tokens whose UTF-16 length lies in `min..=max`.
    Length {
        /// Minimum length, inclusive.
        min: usize,
        /// Maximum length, inclusive.
        max: usize,
    },
}

impl FilterSpec {
    /// Returns the filter registered under `name` with default settings.
    pub fn from_name(name: &str) -> Result<FilterSpec, AnalysisError> {
        match name {
            "lowercase" => Ok(FilterSpec::Lowercase),
            "uppercase" => Ok(FilterSpec::Uppercase),
            "asciifolding" => Ok(FilterSpec::AsciiFolding),
            "stop" => Ok(FilterSpec::english_stop()),
            "porter_stem" => Ok(FilterSpec::PorterStem),
            "trim" => Ok(FilterSpec::Trim),
            "length" => Ok(FilterSpec::Length {
                min: 0,
                max: i32::MAX as usize,
            }),
            other => Err(AnalysisError::UnknownFilter(other.to_owned())),
        }
    }

    /// Returns the stop filter with ES's default `_english_` list.
    pub fn english_stop() -> FilterSpec {
        FilterSpec::Stop {
            words: ENGLISH_STOP_WORDS.iter().map(|w| (*w).to_owned()).collect(),
            ignore_case: false,
        }
    }
}

/// A compiled filter: stop sets are hashed once and shared between clones.
#[derive(Debug)]
enum Filter {
    Lowercase,
    Uppercase,
    AsciiFolding,
    Stop { words: HashSet<String>, ignore_case: bool },
    PorterStem,
    EnglishPossessive,
    Trim,
    Length { min: usize, max: usize },
}

impl Filter {
    fn compile(spec: FilterSpec) -> Filter {
        match spec {
            FilterSpec::Lowercase => Filter::Lowercase,
            FilterSpec::Uppercase => Filter::Uppercase,
            FilterSpec::AsciiFolding => Filter::AsciiFolding,
            FilterSpec::Stop { words, ignore_case } => {
                let words = words
                    .into_iter()
                    .map(|w| if ignore_case { java_lowercase(&w) } else { w })
                    .collect();
                Filter::Stop { words, ignore_case }
            }
            FilterSpec::PorterStem => Filter::PorterStem,
            FilterSpec::EnglishPossessive => Filter::EnglishPossessive,
            FilterSpec::Trim => Filter::Trim,
            FilterSpec::Length { min, max } => Filter::Length { min, max },
        }
    }

    /// Rewrites the term in place; returns false when the token is dropped.
    fn apply(&self, term: &mut String) -> bool {
        match self {
            Filter::Lowercase if term.is_ascii() => term.make_ascii_lowercase(),
            Filter::Lowercase => *term = java_lowercase(term),
            Filter::Uppercase => *term = term.chars().map(java_upper).collect(),
            Filter::AsciiFolding => {
                if !term.is_ascii() {
                    *term = ascii_fold(term);
                }
            }
            Filter::Stop { words, ignore_case } => {
                let hit = if *ignore_case {
                    words.contains(&java_lowercase(term))
                } else {
                    words.contains(term.as_str())
                };
                return !hit;
            }
            Filter::PorterStem => *term = porter::stem(term),
            Filter::EnglishPossessive => {
                // Lucene strips the last two chars when they are an apostrophe
                // (ASCII, U+2019 or fullwidth U+FF07) followed by s or S.
                let mut rev = term.char_indices().rev();
                if let (Some((_, 's' | 'S')), Some((i, '\'' | '\u{2019}' | '\u{FF07}'))) = (rev.next(), rev.next()) {
                    term.truncate(i);
                }
            }
            Filter::Trim => {
                let trimmed = term.trim_matches(java_is_whitespace);
                if trimmed.len() != term.len() {
                    *term = trimmed.to_owned();
                }
            }
            Filter::Length { min, max } => {
                let len = term.encode_utf16().count();
                return (*min..=*max).contains(&len);
            }
        }
        true
    }
}

#[derive(Debug)]
struct Pipeline {
    tokenizer: TokenizerSpec,
    filters: Vec<Filter>,
}

impl Pipeline {
    /// Tokenizes `text` and runs the filters, appending finished tokens.
    fn run(&self, text: &str, out: &mut Vec<Token>) {
        let first = out.len();
        // Tokenizers store each token's position *increment* (always 1) in
        // `position`; it becomes an absolute position below.
        match &self.tokenizer {
            TokenizerSpec::Standard { max_token_length } => standard_tokens(text, *max_token_length, out),
            TokenizerSpec::Letter | TokenizerSpec::Lowercase => {
                let lowercase = self.tokenizer == TokenizerSpec::Lowercase;
                char_tokens(text, DEFAULT_MAX_TOKEN_LENGTH, char::is_alphabetic, lowercase, out)
            }
            TokenizerSpec::Whitespace { max_token_length } => {
                char_tokens(text, *max_token_length, |c| !java_is_whitespace(c), false, out)
            }
            // KeywordTokenizer emits exactly one token, even for empty input.
            TokenizerSpec::Keyword => out.push(new_token(text, 0, text.len())),
        }
        // Like Lucene's FilteringTokenFilter, a dropped token hands its
        // position increment to the next kept token, so removed stop words
        // leave gaps (and a leading stop word makes the first position 1).
        let mut write = first;
        let mut carried = 0;
        let mut next_position = 0;
        for read in first..out.len() {
            let increment = out[read].position;
            let keep = self.filters.iter().all(|f| f.apply(&mut out[read].text));
            if keep {
                let position = next_position + increment + carried - 1;
                out[read].position = position;
                next_position = position + 1;
                carried = 0;
                out.swap(write, read);
                write += 1;
            } else {
                carried += increment;
            }
        }
        out.truncate(write);
    }
}

fn new_token(text: &str, from: usize, to: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position: 1,
        text: text[from..to].to_owned(),
        position_length: 1,
    }
}

/// An Elasticsearch analyzer usable as a tantivy tokenizer.
///
/// Cloning is cheap: the compiled pipeline is shared, only the scratch token
/// buffer is per clone.
#[derive(Clone)]
pub struct EsAnalyzer {
    name: Arc<str>,
    pipeline: Arc<Pipeline>,
    buffer: Vec<Token>,
}

impl std::fmt::Debug for EsAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsAnalyzer")
            .field("name", &self.name)
            .field("pipeline", &self.pipeline)
            .finish()
    }
}

impl EsAnalyzer {
    /// Returns the built-in analyzer called `name`, if Iris implements it.
    pub fn builtin(name: &str) -> Option<EsAnalyzer> {
        let standard = TokenizerSpec::Standard {
            max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
        };
        let (tokenizer, filters) = match name {
            // StandardAnalyzer with ES's default `stopwords: _none_`.
            "standard" => (standard, vec![FilterSpec::Lowercase]),
            "simple" => (TokenizerSpec::Lowercase, vec![]),
            "whitespace" => (
                TokenizerSpec::Whitespace {
                    max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
                },
                vec![],
            ),
            "keyword" => (TokenizerSpec::Keyword, vec![]),
            "stop" => (TokenizerSpec::Lowercase, vec![FilterSpec::english_stop()]),
            // Lucene EnglishAnalyzer: possessive before lowercase, then stop
            // words, then the classic Porter stemmer.
            "english" => (
                standard,
                vec![
                    FilterSpec::EnglishPossessive,
                    FilterSpec::Lowercase,
                    FilterSpec::english_stop(),
                    FilterSpec::PorterStem,
                ],
            ),
            _ => return None,
        };
        Some(EsAnalyzer::assemble(name, tokenizer, filters))
    }

    /// Builds a custom analyzer from a tokenizer and a filter chain.
    pub fn custom(name: &str, tokenizer: TokenizerSpec, filters: Vec<FilterSpec>) -> Result<EsAnalyzer, AnalysisError> {
        tokenizer.validate()?;
        for filter in &filters {
            if let FilterSpec::Length { min, max } = filter
                && min > max
            {
                return Err(AnalysisError::InvalidSetting {
                    setting: "min".to_owned(),
                    reason: format!("minimum length {min} is greater than maximum length {max}"),
                });
            }
        }
        Ok(EsAnalyzer::assemble(name, tokenizer, filters))
    }

    /// Builds a custom analyzer from ES component names, all with default
    /// settings, e.g. `("standard", ["lowercase", "asciifolding"])`.
    pub fn custom_from_names(name: &str, tokenizer: &str, filters: &[&str]) -> Result<EsAnalyzer, AnalysisError> {
        let tokenizer = TokenizerSpec::from_name(tokenizer)?;
        let filters = filters
            .iter()
            .map(|f| FilterSpec::from_name(f))
            .collect::<Result<Vec<_>, _>>()?;
        EsAnalyzer::custom(name, tokenizer, filters)
    }

    fn assemble(name: &str, tokenizer: TokenizerSpec, filters: Vec<FilterSpec>) -> EsAnalyzer {
        let filters = filters.into_iter().map(Filter::compile).collect();
        EsAnalyzer {
            name: Arc::from(name),
            pipeline: Arc::new(Pipeline { tokenizer, filters }),
            buffer: Vec::new(),
        }
    }

    /// Returns the analyzer's name (the built-in name or the custom one).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The token stream of an [`EsAnalyzer`]; tokens are produced up front.
pub struct EsTokenStream<'a> {
    tokens: std::vec::Drain<'a, Token>,
    token: Token,
}

impl TokenStream for EsTokenStream<'_> {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(token) => {
                self.token = token;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for EsAnalyzer {
    type TokenStream<'a> = EsTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> EsTokenStream<'a> {
        self.buffer.clear();
        self.pipeline.run(text, &mut self.buffer);
        EsTokenStream {
            tokens: self.buffer.drain(..),
            token: Token::default(),
        }
    }
}

/// One analyzed token, as reported by `_analyze`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzedToken {
    /// The term text.
    pub term: String,
    /// The token position (with gaps where stop words were removed).
    pub position: usize,
    /// Byte offset of the first character in the analyzed text.
    pub start_offset: usize,
    /// Byte offset just past the last character in the analyzed text.
    pub end_offset: usize,
}

/// Analyzes `text` and returns its tokens; used for query-time analysis and
/// the `_analyze` API.
pub fn analyze(analyzer: &EsAnalyzer, text: &str) -> Vec<AnalyzedToken> {
    let mut tokens = Vec::new();
    analyzer.pipeline.run(text, &mut tokens);
    tokens
        .into_iter()
        .map(|t| AnalyzedToken {
            term: t.text,
            position: t.position,
            start_offset: t.offset_from,
            end_offset: t.offset_to,
        })
        .collect()
}

/// Converts a byte offset of `text` to the UTF-16 offset Elasticsearch reports.
pub fn utf16_offset(text: &str, byte_offset: usize) -> usize {
    text.char_indices()
        .take_while(|(i, _)| *i < byte_offset)
        .map(|(_, c)| c.len_utf16())
        .sum()
}

// ---------------------------------------------------------------------------
// Tokenizers
// ---------------------------------------------------------------------------

/// Lucene `StandardTokenizer` on top of UAX#29 word segmentation.
///
/// Segments without a letter, digit or emoji (spaces, punctuation, "@", "/")
/// are dropped, which splits e-mails and URLs like Lucene does. UAX#29 already
/// emits every Han ideograph and Hiragana character as its own segment, keeps
/// Katakana and Hangul runs together and keeps "don't", "3.14", "U.S.A" and
/// "example.com" whole. Lucene additionally glues runs of South-East-Asian
/// (Thai, Lao, Myanmar, Khmer...) letters into one token, which UAX#29 leaves
/// to dictionary-based segmenters; this is replicated by merging adjacent
/// segments of those scripts.
fn standard_tokens(text: &str, max_len: usize, out: &mut Vec<Token>) {
    let max_len = max_len.clamp(1, MAX_TOKEN_LENGTH_LIMIT);
    let mut cursor = 0;
    'scan: while cursor < text.len() {
        let rest = &text[cursor..];
        let mut run: Option<(usize, usize)> = None;
        for (start, segment) in rest.split_word_bound_indices() {
            let end = start + segment.len();
            if is_complex_context(segment) {
                run = Some(run.map_or((start, end), |(s, _)| (s, end)));
                continue;
            }
            if let Some((s, e)) = run.take()
                && let Some(resume) = emit_standard(text, cursor + s, cursor + e, max_len, out)
            {
                cursor = resume;
                continue 'scan;
            }
            if is_word_segment(segment)
                && let Some(resume) = emit_standard(text, cursor + start, cursor + end, max_len, out)
            {
                cursor = resume;
                continue 'scan;
            }
        }
        if let Some((s, e)) = run.take()
            && let Some(resume) = emit_standard(text, cursor + s, cursor + e, max_len, out)
        {
            cursor = resume;
            continue 'scan;
        }
        break;
    }
}

/// Emits `text[from..to]`, or only its first `max_len` UTF-16 units when it is
/// longer. Lucene caps the scanner buffer at `max_token_length`, so an
/// overlong token is cut there and scanning starts afresh right after the
/// cut; the returned offset tells the caller where to resume.
fn emit_standard(text: &str, from: usize, to: usize, max_len: usize, out: &mut Vec<Token>) -> Option<usize> {
    // A string never has more UTF-16 units than UTF-8 bytes.
    if to - from <= max_len {
        out.push(new_token(text, from, to));
        return None;
    }
    let mut units = 0;
    let mut cut = from;
    for (i, c) in text[from..to].char_indices() {
        if units + c.len_utf16() > max_len {
            // Always advance by at least one char so scanning progresses.
            let cut = if cut == from { from + i + c.len_utf8() } else { cut };
            if is_word_segment(&text[from..cut]) {
                out.push(new_token(text, from, cut));
            }
            return Some(cut);
        }
        units += c.len_utf16();
        cut = from + i + c.len_utf8();
    }
    out.push(new_token(text, from, to));
    None
}

/// Lucene `CharTokenizer` (letter, lowercase and whitespace tokenizers):
/// maximal runs of token chars, cut into pieces once a piece reaches
/// `max_len` UTF-16 units (a surrogate pair may overshoot by one, as in Lucene).
fn char_tokens(text: &str, max_len: usize, is_token_char: fn(char) -> bool, lowercase: bool, out: &mut Vec<Token>) {
    let max_len = max_len.clamp(1, MAX_TOKEN_LENGTH_LIMIT);
    let first = out.len();
    let mut start: Option<usize> = None;
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if is_token_char(c) {
            let from = *start.get_or_insert(i);
            units += c.len_utf16();
            if units >= max_len {
                out.push(new_token(text, from, i + c.len_utf8()));
                start = None;
                units = 0;
            }
        } else if let Some(from) = start.take() {
            out.push(new_token(text, from, i));
            units = 0;
        }
    }
    if let Some(from) = start {
        out.push(new_token(text, from, text.len()));
    }
    if lowercase {
        for token in &mut out[first..] {
            token.text = java_lowercase(&token.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn analyzer(name: &str) -> EsAnalyzer {
        EsAnalyzer::builtin(name).expect("builtin analyzer")
    }

    fn terms(a: &EsAnalyzer, text: &str) -> Vec<String> {
        analyze(a, text).into_iter().map(|t| t.term).collect()
    }

    fn builtin_terms(name: &str, text: &str) -> Vec<String> {
        terms(&analyzer(name), text)
    }

    fn detailed(a: &EsAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
        analyze(a, text)
            .into_iter()
            .map(|t| (t.term, t.position, t.start_offset, t.end_offset))
            .collect()
    }

    fn tok(term: &str, position: usize, start: usize, end: usize) -> (String, usize, usize, usize) {
        (term.to_owned(), position, start, end)
    }

    const FOX: &str = "The 2 QUICK Brown-Foxes jumped over the lazy dog's bone.";

    #[test]
    fn builtin_names_round_trip() {
        for name in BUILTIN_ANALYZERS {
            assert_eq!(analyzer(name).name(), *name);
        }
        assert!(EsAnalyzer::builtin("french").is_none());
    }

    #[test]
    fn standard_matches_es_reference() {
        assert_eq!(
            builtin_terms("standard", FOX),
            [
                "the", "2", "quick", "brown", "foxes", "jumped", "over", "the", "lazy", "dog's", "bone"
            ]
        );
    }

    #[test]
    fn english_matches_es_reference_with_position_gaps() {
        let got = analyze(&analyzer("english"), FOX);
        let summary: Vec<(&str, usize)> = got.iter().map(|t| (t.term.as_str(), t.position)).collect();
        assert_eq!(
            summary,
            [
                ("2", 1),
                ("quick", 2),
                ("brown", 3),
                ("fox", 4),
                ("jump", 5),
                ("over", 6),
                ("lazi", 8),
                ("dog", 9),
                ("bone", 10)
            ]
        );
        assert_eq!((got[8].start_offset, got[8].end_offset), (51, 55));
        assert_eq!(
            (got[7].start_offset, got[7].end_offset),
            (45, 50),
            "offsets keep the possessive"
        );
    }

    #[test]
    fn english_possessives_and_stemming() {
        assert_eq!(
            builtin_terms("english", "The runner’s RUNNING quickly"),
            ["runner", "run", "quickli"]
        );
        assert_eq!(builtin_terms("english", "JAMES'S generalizations"), ["jame", "gener"]);
        assert_eq!(
            builtin_terms("english", "Connections connected connecting"),
            ["connect", "connect", "connect"]
        );
    }

    #[test]
    fn standard_positions_and_byte_offsets() {
        assert_eq!(
            detailed(&analyzer("standard"), "Hello, wörld!  Straße"),
            [tok("hello", 0, 0, 5), tok("wörld", 1, 7, 13), tok("straße", 2, 16, 23)]
        );
    }

    #[test]
    fn standard_word_break_rules() {
        assert_eq!(
            builtin_terms("standard", "U.S.A. don't 3.14 1,000.50 wi-fi foo_bar example.com"),
            [
                "u.s.a",
                "don't",
                "3.14",
                "1,000.50",
                "wi",
                "fi",
                "foo_bar",
                "example.com"
            ]
        );
        assert_eq!(
            builtin_terms(
                "standard",
                "mail john.doe@example.com or http://www.example.com/a/b?q=1#x"
            ),
            [
                "mail",
                "john.doe",
                "example.com",
                "or",
                "http",
                "www.example.com",
                "a",
                "b",
                "q",
                "1",
                "x"
            ]
        );
        assert_eq!(builtin_terms("standard", "x² ½ -- ... !!"), ["x"]);
    }

    #[test]
    fn standard_cjk_and_complex_scripts() {
        let got = detailed(&analyzer("standard"), "中文字 ひらがな カタカナ 한국어");
        let expected = [
            tok("中", 0, 0, 3),
            tok("文", 1, 3, 6),
            tok("字", 2, 6, 9),
            tok("ひ", 3, 10, 13),
            tok("ら", 4, 13, 16),
            tok("が", 5, 16, 19),
            tok("な", 6, 19, 22),
            tok("カタカナ", 7, 23, 35),
            tok("한국어", 8, 36, 45),
        ];
        assert_eq!(got, expected);
        // Lucene keeps Thai runs together (dictionary segmentation is left to
        // the thai tokenizer).
        assert_eq!(builtin_terms("standard", "สวัสดีครับ ผม"), ["สวัสดีครับ", "ผม"]);
    }

    #[test]
    fn standard_emits_emoji() {
        assert_eq!(
            builtin_terms("standard", "I ❤️ 🍕 🇺🇸 ok"),
            ["i", "❤️", "🍕", "🇺🇸", "ok"]
        );
        assert_eq!(builtin_terms("standard", "→ © ★"), Vec::<String>::new());
    }

    #[test]
    fn lowercase_follows_java_per_code_point() {
        assert_eq!(builtin_terms("standard", "ΟΔΟΣ İSTANBUL"), ["οδοσ", "istanbul"]);
    }

    #[test]
    fn empty_and_blank_input() {
        for name in ["standard", "simple", "whitespace", "stop", "english"] {
            assert!(builtin_terms(name, "").is_empty(), "{name}");
            assert!(builtin_terms(name, " \t\n ").is_empty(), "{name}");
        }
        // Lucene's KeywordTokenizer emits one empty token for empty input.
        assert_eq!(detailed(&analyzer("keyword"), ""), [tok("", 0, 0, 0)]);
    }

    #[test]
    fn long_tokens_are_split_at_max_token_length() {
        let long = "a".repeat(300);
        for name in ["standard", "whitespace", "simple"] {
            let got = detailed(&analyzer(name), &long);
            assert_eq!(
                got,
                [tok(&"a".repeat(255), 0, 0, 255), tok(&"a".repeat(45), 1, 255, 300)],
                "{name}"
            );
        }
        let accents = "é".repeat(256);
        let got = detailed(&analyzer("standard"), &accents);
        assert_eq!(got, [tok(&"é".repeat(255), 0, 0, 510), tok("é", 1, 510, 512)]);
        let short =
            EsAnalyzer::custom("short", TokenizerSpec::Standard { max_token_length: 5 }, vec![]).expect("valid");
        assert_eq!(terms(&short, "abcdefghijkl x"), ["abcde", "fghij", "kl", "x"]);
        // Keyword has no limit.
        assert_eq!(builtin_terms("keyword", &long), std::slice::from_ref(&long));
    }

    #[test]
    fn simple_stop_whitespace_keyword() {
        assert_eq!(
            builtin_terms("simple", "Hello WORLD 123 foo-bar's"),
            ["hello", "world", "foo", "bar", "s"]
        );
        assert_eq!(
            detailed(&analyzer("stop"), "The quick and the dead"),
            [tok("quick", 1, 4, 9), tok("dead", 4, 18, 22)]
        );
        assert_eq!(
            builtin_terms("whitespace", "Hello  World\tfoo\u{A0}bar x\u{1F}y"),
            ["Hello", "World", "foo\u{A0}bar", "x", "y"]
        );
        assert_eq!(detailed(&analyzer("keyword"), "New York"), [tok("New York", 0, 0, 8)]);
    }

    #[test]
    fn standard_analyzer_keeps_stop_words() {
        assert_eq!(
            builtin_terms("standard", "to be or not to be"),
            ["to", "be", "or", "not", "to", "be"]
        );
    }

    #[test]
    fn custom_analyzer_filters() {
        let folding =
            EsAnalyzer::custom_from_names("folding", "standard", &["lowercase", "asciifolding"]).expect("valid");
        assert_eq!(folding.name(), "folding");
        assert_eq!(
            terms(&folding, "Crème Brûlée ﬁnal Straße Œuvre Łódź Việt"),
            ["creme", "brulee", "final", "strasse", "oeuvre", "lodz", "viet"]
        );
        assert_eq!(terms(&folding, "Ｆｕｌｌ×width"), ["full", "width"]);
        let keyword_fold = EsAnalyzer::custom_from_names("kf", "keyword", &["asciifolding"]).expect("valid");
        assert_eq!(terms(&keyword_fold, "“a”–b… Æ"), ["\"a\"-b... AE"]);
        let upper = EsAnalyzer::custom(
            "upper",
            TokenizerSpec::Whitespace {
                max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
            },
            vec![FilterSpec::Uppercase, FilterSpec::Length { min: 2, max: 4 }],
        )
        .expect("valid");
        assert_eq!(
            detailed(&upper, "a bb cccc ddddd straße"),
            [tok("BB", 1, 2, 4), tok("CCCC", 2, 5, 9)]
        );
        let stop = EsAnalyzer::custom(
            "stop_ci",
            TokenizerSpec::Letter,
            vec![
                FilterSpec::Stop {
                    words: vec!["The".to_owned()],
                    ignore_case: true,
                },
                FilterSpec::PorterStem,
            ],
        )
        .expect("valid");
        assert_eq!(
            detailed(&stop, "THE cats"),
            [tok("cats", 1, 4, 8)].map(|(_, p, s, e)| ("cat".to_owned(), p, s, e))
        );
        let trim = EsAnalyzer::custom_from_names("trim", "keyword", &["trim"]).expect("valid");
        assert_eq!(detailed(&trim, "  padded \n"), [tok("padded", 0, 0, 10)]);
    }

    #[test]
    fn custom_analyzer_errors() {
        assert_eq!(
            EsAnalyzer::custom_from_names("x", "ngram", &[]).err(),
            Some(AnalysisError::UnknownTokenizer("ngram".to_owned()))
        );
        assert_eq!(
            EsAnalyzer::custom_from_names("x", "standard", &["lowercase", "synonym"]).err(),
            Some(AnalysisError::UnknownFilter("synonym".to_owned()))
        );
        assert!(EsAnalyzer::custom("x", TokenizerSpec::Standard { max_token_length: 0 }, vec![]).is_err());
        assert!(EsAnalyzer::custom("x", TokenizerSpec::Keyword, vec![FilterSpec::Length { min: 3, max: 2 }]).is_err());
        assert_eq!(
            AnalysisError::UnknownFilter("synonym".to_owned()).to_string(),
            "failed to find global token filter under [synonym]"
        );
    }

    #[test]
    fn tokenizer_trait_stream_matches_analyze() {
        let mut a = analyzer("english");
        for _ in 0..2 {
            let mut stream = a.token_stream(FOX);
            let mut seen = Vec::new();
            while let Some(token) = stream.next() {
                assert_eq!(token.position_length, 1);
                seen.push((token.text.clone(), token.position, token.offset_from, token.offset_to));
            }
            assert!(!stream.advance());
            assert_eq!(seen, detailed(&analyzer("english"), FOX));
        }
        let mut clone = a.clone();
        let mut stream = clone.token_stream("Jumping");
        assert!(stream.advance());
        stream.token_mut().text.push('!');
        assert_eq!(stream.token().text, "jump!");
    }

    #[test]
    fn utf16_offsets_for_es_responses() {
        let text = "a😀b é";
        let b = analyze(&analyzer("standard"), text);
        assert_eq!(b[1].term, "😀");
        assert_eq!(utf16_offset(text, b[1].start_offset), 1);
        assert_eq!(utf16_offset(text, b[2].start_offset), 3);
        assert_eq!(utf16_offset(text, text.len()), 6);
    }

    fn check_stream(a: &EsAnalyzer, text: &str) -> Result<(), TestCaseError> {
        let tokens = analyze(a, text);
        let mut last: Option<usize> = None;
        for t in &tokens {
            prop_assert!(t.start_offset <= t.end_offset && t.end_offset <= text.len());
            prop_assert!(text.is_char_boundary(t.start_offset) && text.is_char_boundary(t.end_offset));
            prop_assert!(last.is_none_or(|p| t.position > p), "positions must increase");
            last = Some(t.position);
            if a.name() != "keyword" {
                prop_assert!(!t.term.is_empty());
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_input_yields_valid_tokens(text in "\\PC{0,64}|[ a-zA-Z'.,\u{E01}-\u{E4E}\u{4E00}-\u{4E10}\u{1F600}-\u{1F610}\u{FE0F}\u{200D}]{0,64}") {
            for name in BUILTIN_ANALYZERS {
                check_stream(&analyzer(name), &text)?;
            }
            let tiny = EsAnalyzer::custom("tiny", TokenizerSpec::Standard { max_token_length: 2 }, vec![FilterSpec::AsciiFolding, FilterSpec::PorterStem])
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_stream(&tiny, &text)?;
            let ws = EsAnalyzer::custom("ws", TokenizerSpec::Whitespace { max_token_length: 1 }, vec![FilterSpec::Trim, FilterSpec::Uppercase])
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_stream(&ws, &text)?;
        }

        #[test]
        fn standard_terms_are_lowercased_source_slices(text in "\\PC{0,64}") {
            for t in analyze(&analyzer("standard"), &text) {
                prop_assert_eq!(t.term, java_lowercase(&text[t.start_offset..t.end_offset]));
            }
        }

        #[test]
        fn porter_never_panics(word in "[a-z]{0,12}|[a-zéyß]{0,12}|\\PC{0,12}") {
            let stemmed = porter::stem(&word);
            prop_assert!(stemmed.len() <= word.len() + 1);
        }
    }
}
