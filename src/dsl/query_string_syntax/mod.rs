//! Syntax trees for the two Elasticsearch query-string languages.
//!
//! * [`parse_query_string`] parses the `query_string` syntax, which is the
//!   Lucene classic `QueryParser` grammar plus the Elasticsearch additions
//!   (`_exists_:field`, one-sided ranges such as `age:>=10`, `field:*`).
//!   See <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-query-string-query.html#query-string-syntax>.
//! * [`parse_simple_query_string`] parses the `simple_query_string` syntax
//!   (Lucene `SimpleQueryParser`), which never fails.
//!   See <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-simple-query-string-query.html#simple-query-string-syntax>.
//!
//! Neither parser resolves fields or analyzes text: a [`QsNode::Term`] holds
//! the raw word and the caller analyzes it for the target field(s).
//! `field: None` everywhere means "the default field(s)" of the request.
//!
//! # Boolean semantics of `query_string`
//!
//! Lucene's classic parser has no operator precedence. It walks the clauses
//! left to right and gives each one an [`Occur`] (see `addClause` in
//! <https://github.com/apache/lucene/blob/main/lucene/queryparser/src/java/org/apache/lucene/queryparser/classic/QueryParserBase.java>):
//!
//! * `+x` is `Must`, `-x` / `NOT x` / `!x` is `MustNot`.
//! * With default operator OR a bare clause is `Should`; `a AND b` makes both
//!   `a` and `b` `Must` (unless `a` is already `MustNot`); `OR` changes nothing.
//! * With default operator AND a bare clause is `Must`; `a OR b` makes both
//!   `a` and `b` `Should` (unless `a` is `MustNot`), and a clause introduced by
//!   `OR` is `Should` even when it carries `+` (a Lucene quirk kept here).
//! * So `a AND b OR c` is `+a +b c` under OR and `+a b c` under AND.
//!
//! Each parenthesised group becomes its own [`QsNode::Bool`]; a group (or the
//! whole query) holding a single unmodified clause collapses to that clause.
//! Whitespace-separated words become one clause each (Lucene's
//! `split_on_whitespace=true` shape; Elasticsearch analyzes such runs together
//! but, for single-token words, produces the same clauses).
//! A `Bool` with only `MustNot` clauses is returned as is: Elasticsearch adds
//! a match-all filter to it (`Queries.fixNegativeQueryIfNeeded`), which the
//! caller has to do.
//!
//! An empty `Bool { clauses: [] }` means "matches no documents" (Lucene
//! semantics), which is what Elasticsearch returns for a blank query string.

mod lexer;
mod lucene;
mod simple;

use std::ops::BitOr;

/// Nesting limit (parentheses for `query_string`, nested boolean nodes for
/// `simple_query_string`); deeper input would risk a stack overflow in the
/// recursive code that walks the tree.
pub const MAX_DEPTH: usize = 128;

/// One node of a parsed query string.
#[derive(Debug, Clone, PartialEq)]
pub enum QsNode {
    /// A plain word, to be analyzed by the caller.
    Term {
        field: Option<String>,
        text: String,
        boost: Option<f32>,
    },
    /// A quoted phrase; `slop` 0 also stands for "not given" (the caller may
    /// apply its `phrase_slop` then).
    Phrase {
        field: Option<String>,
        text: String,
        slop: u32,
        boost: Option<f32>,
    },
    /// A prefix query (`bro*`), escapes removed.
    Prefix {
        field: Option<String>,
        prefix: String,
        boost: Option<f32>,
    },
    /// A wildcard pattern in Lucene `WildcardQuery` syntax: unescaped `*` and
    /// `?` are wildcards, `\*`, `\?` and `\\` stand for the literal characters;
    /// all other escapes are already removed.
    Wildcard {
        field: Option<String>,
        pattern: String,
        boost: Option<f32>,
    },
    /// A regular expression (Lucene `RegExp` syntax), exactly as written
    /// between the slashes.
    Regex {
        field: Option<String>,
        pattern: String,
        boost: Option<f32>,
    },
    /// A fuzzy term; `distance: None` means the caller's default fuzziness.
    Fuzzy {
        field: Option<String>,
        text: String,
        distance: Option<u8>,
        boost: Option<f32>,
    },
    /// A range; `None` bounds are open (`*`).
    Range {
        field: Option<String>,
        lower: Option<String>,
        upper: Option<String>,
        include_lower: bool,
        include_upper: bool,
        boost: Option<f32>,
    },
    /// Documents that have a value for `field` (may be a field pattern).
    Exists { field: String },
    /// A boolean combination; empty clauses match nothing.
    Bool {
        clauses: Vec<(Occur, QsNode)>,
        boost: Option<f32>,
    },
    /// Every document (`*` alone, `*:*`).
    MatchAll,
}

impl QsNode {
    /// Returns the node's explicit boost, if any.
    pub fn boost(&self) -> Option<f32> {
        match self {
            Self::Exists { .. } | Self::MatchAll => None,
            Self::Term { boost, .. }
            | Self::Phrase { boost, .. }
            | Self::Prefix { boost, .. }
            | Self::Wildcard { boost, .. }
            | Self::Regex { boost, .. }
            | Self::Fuzzy { boost, .. }
            | Self::Range { boost, .. }
            | Self::Bool { boost, .. } => *boost,
        }
    }

    /// Multiplies the node's boost by `factor`; nodes without a boost slot
    /// (`Exists`, `MatchAll`) get wrapped in a single-clause `Bool`, which
    /// scores the same.
    pub(crate) fn boosted(mut self, factor: f32) -> Self {
        let slot = match &mut self {
            Self::Exists { .. } | Self::MatchAll => None,
            Self::Term { boost, .. }
            | Self::Phrase { boost, .. }
            | Self::Prefix { boost, .. }
            | Self::Wildcard { boost, .. }
            | Self::Regex { boost, .. }
            | Self::Fuzzy { boost, .. }
            | Self::Range { boost, .. }
            | Self::Bool { boost, .. } => Some(boost),
        };
        if let Some(slot) = slot {
            *slot = Some(slot.map_or(factor, |b| b * factor));
            return self;
        }
        Self::Bool {
            clauses: vec![(Occur::Must, self)],
            boost: Some(factor),
        }
    }
}

/// How a clause takes part in its boolean group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occur {
    Must,
    Should,
    MustNot,
}

/// The `default_operator` of a query-string request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultOperator {
    #[default]
    Or,
    And,
}

/// Errors of the query-string parsers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QsError {
    /// A `query_string` syntax error; `detail` is the Lucene
    /// `ParseException` text (`Cannot parse '...': ...`).
    #[error("Failed to parse query [{query}]")]
    Syntax { query: String, detail: String },
    /// An unknown name in a `simple_query_string` `flags` value.
    #[error("Unknown simple_query_string flag [{0}]")]
    UnknownFlag(String),
}

impl QsError {
    /// Returns the top-level reason, e.g. `Failed to parse query [foo AND]`.
    pub fn reason(&self) -> String {
        self.to_string()
    }

    /// Returns the underlying cause, e.g.
    /// `Cannot parse 'foo AND': Encountered "<EOF>" at line 1, column 7.`
    /// (for an unknown flag it equals [`QsError::reason`]).
    pub fn cause(&self) -> String {
        match self {
            Self::Syntax { detail, .. } => detail.clone(),
            Self::UnknownFlag(_) => self.to_string(),
        }
    }

    /// Returns the Elasticsearch error type of the top-level error.
    pub fn es_type(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "query_shard_exception",
            Self::UnknownFlag(_) => "illegal_argument_exception",
        }
    }

    /// Returns the Elasticsearch error type of the cause.
    pub fn cause_es_type(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "parse_exception",
            Self::UnknownFlag(_) => "illegal_argument_exception",
        }
    }
}

/// The enabled operators of `simple_query_string` (Lucene `SimpleQueryParser`
/// bit values, so an integer `flags` value maps with [`SimpleFlags::from_bits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimpleFlags(u32);

impl SimpleFlags {
    pub const ALL: Self = Self(u32::MAX);
    pub const NONE: Self = Self(0);
    pub const AND: Self = Self(1);
    pub const NOT: Self = Self(1 << 1);
    pub const OR: Self = Self(1 << 2);
    pub const PREFIX: Self = Self(1 << 3);
    pub const PHRASE: Self = Self(1 << 4);
    pub const PRECEDENCE: Self = Self(1 << 5);
    pub const ESCAPE: Self = Self(1 << 6);
    pub const WHITESPACE: Self = Self(1 << 7);
    pub const FUZZY: Self = Self(1 << 8);
    pub const NEAR: Self = Self(1 << 9);
    /// Synonym of [`SimpleFlags::NEAR`].
    pub const SLOP: Self = Self(1 << 9);

    /// Builds flags from raw bits (`-1` as `u32` is ALL).
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// Returns the raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Tells whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses a `flags` string such as `OR|AND|PREFIX` like Elasticsearch's
    /// `SimpleQueryStringFlag.resolveFlags`: names are case-insensitive, empty
    /// parts are skipped, an empty string means ALL, and the first `NONE` or
    /// `ALL` met decides the result at once.
    pub fn parse(spec: &str) -> Result<Self, QsError> {
        if spec.is_empty() {
            return Ok(Self::ALL);
        }
        let mut flags = Self::NONE;
        for part in spec.split('|').filter(|p| !p.is_empty()) {
            let flag = match part.to_ascii_uppercase().as_str() {
                "ALL" => return Ok(Self::ALL),
                "NONE" => return Ok(Self::NONE),
                "AND" => Self::AND,
                "NOT" => Self::NOT,
                "OR" => Self::OR,
                "PREFIX" => Self::PREFIX,
                "PHRASE" => Self::PHRASE,
                "PRECEDENCE" => Self::PRECEDENCE,
                "ESCAPE" => Self::ESCAPE,
                "WHITESPACE" => Self::WHITESPACE,
                "FUZZY" => Self::FUZZY,
                "NEAR" | "SLOP" => Self::NEAR,
                _ => return Err(QsError::UnknownFlag(part.to_string())),
            };
            flags = flags | flag;
        }
        Ok(flags)
    }
}

impl Default for SimpleFlags {
    fn default() -> Self {
        Self::ALL
    }
}

impl BitOr for SimpleFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Parses `query_string` syntax into a tree, mirroring Lucene's classic
/// `QueryParser` as Elasticsearch configures it.
///
/// A blank input yields an empty `Bool` (matches nothing), as Elasticsearch's
/// `QueryStringQueryParser.parse` does.
pub fn parse_query_string(input: &str, default_operator: DefaultOperator) -> Result<QsNode, QsError> {
    // Java's String.trim() strips every char <= U+0020.
    if input.chars().all(|c| c <= ' ') {
        return Ok(QsNode::Bool {
            clauses: Vec::new(),
            boost: None,
        });
    }
    lucene::parse(input, default_operator).map_err(|msg| QsError::Syntax {
        query: input.to_string(),
        detail: format!("Cannot parse '{input}': {msg}"),
    })
}

/// Parses `simple_query_string` syntax; it never fails and skips whatever it
/// cannot use, like Lucene's `SimpleQueryParser`. Input without any usable
/// part yields an empty `Bool` (matches nothing).
pub fn parse_simple_query_string(input: &str, default_operator: DefaultOperator, flags: SimpleFlags) -> QsNode {
    simple::parse(input, default_operator, flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_elasticsearch() {
        assert_eq!(SimpleFlags::parse("").unwrap(), SimpleFlags::ALL);
        assert_eq!(
            SimpleFlags::parse("and|Or").unwrap(),
            SimpleFlags::AND | SimpleFlags::OR
        );
        assert_eq!(
            SimpleFlags::parse("AND||PREFIX").unwrap(),
            SimpleFlags::AND | SimpleFlags::PREFIX
        );
        assert_eq!(SimpleFlags::parse("AND|NONE|OR").unwrap(), SimpleFlags::NONE);
        assert_eq!(SimpleFlags::parse("NOT|ALL").unwrap(), SimpleFlags::ALL);
        assert_eq!(SimpleFlags::parse("SLOP").unwrap(), SimpleFlags::NEAR);
        let err = SimpleFlags::parse("AND|BOGUS").unwrap_err();
        assert_eq!(err.reason(), "Unknown simple_query_string flag [BOGUS]");
        assert_eq!(err.es_type(), "illegal_argument_exception");
        assert!(SimpleFlags::ALL.contains(SimpleFlags::FUZZY));
        assert!(!SimpleFlags::AND.contains(SimpleFlags::OR));
        assert_eq!(SimpleFlags::from_bits(-1i32 as u32), SimpleFlags::ALL);
        assert_eq!(SimpleFlags::default().bits(), u32::MAX);
    }

    #[test]
    fn error_reason_and_cause() {
        let err = parse_query_string("foo AND", DefaultOperator::Or).unwrap_err();
        assert_eq!(err.reason(), "Failed to parse query [foo AND]");
        assert_eq!(
            err.cause(),
            "Cannot parse 'foo AND': Encountered \"<EOF>\" at line 1, column 7."
        );
        assert_eq!(err.es_type(), "query_shard_exception");
        assert_eq!(err.cause_es_type(), "parse_exception");
    }

    #[test]
    fn blank_inputs_match_nothing() {
        let empty = QsNode::Bool {
            clauses: vec![],
            boost: None,
        };
        assert_eq!(parse_query_string("", DefaultOperator::Or).unwrap(), empty);
        assert_eq!(parse_query_string(" \t\n", DefaultOperator::And).unwrap(), empty);
        assert_eq!(
            parse_simple_query_string("", DefaultOperator::Or, SimpleFlags::ALL),
            empty
        );
        assert_eq!(
            parse_simple_query_string(" ()\"\" ", DefaultOperator::Or, SimpleFlags::ALL),
            empty
        );
    }

    #[test]
    fn boosted_multiplies_or_wraps() {
        let t = QsNode::Term {
            field: None,
            text: "a".into(),
            boost: Some(2.0),
        };
        assert_eq!(t.boosted(3.0).boost(), Some(6.0));
        let wrapped = QsNode::MatchAll.boosted(2.0);
        assert_eq!(
            wrapped,
            QsNode::Bool {
                clauses: vec![(Occur::Must, QsNode::MatchAll)],
                boost: Some(2.0)
            }
        );
    }

    /// Returns the nesting depth of boolean nodes.
    fn depth(n: &QsNode) -> usize {
        match n {
            QsNode::Bool { clauses, .. } => 1 + clauses.iter().map(|(_, c)| depth(c)).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn check_all(s: &str, flags: SimpleFlags) {
        for op in [DefaultOperator::Or, DefaultOperator::And] {
            match parse_query_string(s, op) {
                Ok(n) => assert!(depth(&n) <= 2 * MAX_DEPTH + 2),
                Err(e) => {
                    assert!(e.cause().starts_with(&format!("Cannot parse '{s}': ")));
                    assert_eq!(e.reason(), format!("Failed to parse query [{s}]"));
                }
            }
            let n = parse_simple_query_string(s, op, flags);
            assert!(depth(&n) <= MAX_DEPTH);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_any_string(s in "\\PC{0,80}") {
            check_all(&s, SimpleFlags::ALL);
        }

        #[test]
        fn never_panics_on_syntax_soup(
            s in "[ab \\\\\"*?~^:()\\[\\]{}+\\-!|&/<>=.0-9TOANDRu\t\u{3000}é]{0,48}",
            bits in proptest::prelude::any::<u32>(),
        ) {
            check_all(&s, SimpleFlags::from_bits(bits));
        }
    }
}
