//! The query tree Iris executes. Field names are ES paths; values are still JSON, because
//! how a value is read depends on the field's mapping, which the engine resolves.

use serde_json::Value;

/// `operator` of full-text queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Or,
    And,
}

/// `minimum_should_match`: an absolute count or a percentage, possibly negative, or ES's
/// conditional form (`"3<90%"`).
#[derive(Debug, Clone, PartialEq)]
pub enum MinimumShouldMatch {
    Count(i64),
    Percent(f64),
    /// (threshold, spec): above `threshold` optional clauses, apply `spec`.
    Conditional(Vec<(usize, MinimumShouldMatch)>),
}

impl MinimumShouldMatch {
    /// Returns how many of `optional_clauses` must match (ES's `Queries.calculateMinShouldMatch`).
    pub fn required(&self, optional_clauses: usize) -> usize {
        let total = optional_clauses as i64;
        let result = match self {
            MinimumShouldMatch::Count(count) => {
                if *count < 0 {
                    total + count
                } else {
                    *count
                }
            }
            MinimumShouldMatch::Percent(percent) => {
                let calculated = (total as f64 * percent.abs() / 100.0).floor() as i64;
                if *percent < 0.0 { total - calculated } else { calculated }
            }
            MinimumShouldMatch::Conditional(steps) => {
                let mut chosen = total;
                for (threshold, spec) in steps {
                    if optional_clauses > *threshold {
                        chosen = spec.required(optional_clauses) as i64;
                    }
                }
                chosen
            }
        };
        result.clamp(0, total) as usize
    }
}

/// `fuzziness`: `AUTO[:low,high]` or an edit distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fuzziness {
    Auto { low: usize, high: usize },
    Distance(u8),
}

impl Fuzziness {
    /// Returns the edit distance for a term of `term_chars` characters.
    pub fn distance_for(&self, term_chars: usize) -> u8 {
        match self {
            Fuzziness::Distance(distance) => *distance,
            Fuzziness::Auto { low, high } => {
                if term_chars < *low {
                    0
                } else if term_chars < *high {
                    1
                } else {
                    2
                }
            }
        }
    }
}

/// `multi_match` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiMatchType {
    BestFields,
    MostFields,
    CrossFields,
    Phrase,
    PhrasePrefix,
    BoolPrefix,
}

/// A field with its `^boost`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostedField {
    pub field: String,
    pub boost: f32,
}

/// Options shared by `match` and the per-field parts of `multi_match`/`query_string`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOptions {
    pub operator: Operator,
    pub minimum_should_match: Option<MinimumShouldMatch>,
    pub fuzziness: Option<Fuzziness>,
    pub prefix_length: usize,
    pub analyzer: Option<String>,
    pub lenient: bool,
    pub zero_terms_all: bool,
}

impl Default for MatchOptions {
    fn default() -> MatchOptions {
        MatchOptions {
            operator: Operator::Or,
            minimum_should_match: None,
            fuzziness: None,
            prefix_length: 0,
            analyzer: None,
            lenient: false,
            zero_terms_all: false,
        }
    }
}

/// Bounds of a `range` query, as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RangeBounds {
    pub gt: Option<Value>,
    pub gte: Option<Value>,
    pub lt: Option<Value>,
    pub lte: Option<Value>,
    pub format: Option<String>,
    pub time_zone: Option<String>,
}

/// What bounds a kNN clause besides `k`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KnnLimit {
    None,
    /// ES `similarity`: a threshold on the raw similarity (a distance for `l2_norm`).
    EsSimilarity(f32),
    /// OpenSearch radial search by score.
    OsMinScore(f32),
    /// OpenSearch radial search by distance.
    OsMaxDistance(f32),
}

/// Where a kNN clause's query vector comes from when the request does not give it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VectorSource {
    /// Embedded by a model (ES `query_vector_builder`, OpenSearch `neural`). Several inputs
    /// (a text and an image) make the mean of their vectors.
    Embed { model_id: String, inputs: Vec<QueryInput> },
    /// The vector of a document already indexed (`lookup`).
    Lookup { index: String, id: String, path: String },
}

/// A text or an image (base64, data URL, URL or path) to embed for a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueryInput {
    Text(String),
    Image(String),
}

/// One kNN clause (top-level `knn`, `knn` query, or OpenSearch `knn`).
#[derive(Debug, Clone, PartialEq)]
pub struct KnnClause {
    pub field: String,
    /// Empty until resolved when `vector_source` is set.
    pub query_vector: Vec<f32>,
    pub vector_source: Option<VectorSource>,
    /// None: defaults to the request's `size` (ES) or 10 (OpenSearch).
    pub k: Option<usize>,
    pub num_candidates: Option<usize>,
    /// Pre-filters: only documents matching all of them are candidates.
    pub filter: Vec<QueryAst>,
    pub limit: KnnLimit,
    /// OpenSearch `method_parameters.ef_search`.
    pub ef_search: Option<usize>,
    pub boost: f32,
    pub name: Option<String>,
}

/// The query tree. Every node carries the ES `boost` (1.0 when absent).
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAst {
    MatchAll {
        boost: f32,
    },
    MatchNone,
    Term {
        field: String,
        value: Value,
        boost: f32,
        case_insensitive: bool,
    },
    Terms {
        field: String,
        values: Vec<Value>,
        boost: f32,
    },
    Match {
        field: String,
        query: Value,
        options: MatchOptions,
        boost: f32,
    },
    MatchPhrase {
        field: String,
        query: String,
        slop: u32,
        analyzer: Option<String>,
        boost: f32,
    },
    MatchPhrasePrefix {
        field: String,
        query: String,
        slop: u32,
        max_expansions: usize,
        boost: f32,
    },
    MultiMatch {
        fields: Vec<BoostedField>,
        query: Value,
        kind: MultiMatchType,
        tie_breaker: Option<f32>,
        slop: u32,
        options: MatchOptions,
        boost: f32,
    },
    Range {
        field: String,
        bounds: RangeBounds,
        boost: f32,
    },
    Exists {
        field: String,
        boost: f32,
    },
    Ids {
        values: Vec<String>,
        boost: f32,
    },
    Prefix {
        field: String,
        value: String,
        boost: f32,
        case_insensitive: bool,
    },
    Wildcard {
        field: String,
        pattern: String,
        boost: f32,
        case_insensitive: bool,
    },
    Regexp {
        field: String,
        pattern: String,
        boost: f32,
        case_insensitive: bool,
    },
    Fuzzy {
        field: String,
        value: Value,
        fuzziness: Fuzziness,
        prefix_length: usize,
        transpositions: bool,
        boost: f32,
    },
    Bool {
        must: Vec<QueryAst>,
        should: Vec<QueryAst>,
        filter: Vec<QueryAst>,
        must_not: Vec<QueryAst>,
        minimum_should_match: Option<MinimumShouldMatch>,
        boost: f32,
    },
    ConstantScore {
        filter: Box<QueryAst>,
        boost: f32,
    },
    DisMax {
        queries: Vec<QueryAst>,
        tie_breaker: f32,
        boost: f32,
    },
    Boosting {
        positive: Box<QueryAst>,
        negative: Box<QueryAst>,
        negative_boost: f32,
        boost: f32,
    },
    /// `query` applied to each field matching `fields` (names or `*` patterns, expanded
    /// against the mapping), combined with dis_max; `query`'s own field is replaced.
    AnyField {
        fields: Vec<BoostedField>,
        query: Box<QueryAst>,
        tie_breaker: f32,
    },
    /// `script_score` with a vector-function script, scored exactly per matching document.
    ScriptScore {
        query: Box<QueryAst>,
        script: std::sync::Arc<crate::query::script::Script>,
        params: std::sync::Arc<std::collections::HashMap<String, Vec<f32>>>,
        min_score: Option<f32>,
        boost: f32,
    },
    /// A kNN query inside the query DSL.
    Knn(Box<KnnClause>),
    /// kNN results resolved by the vector engine: document key → `_score` (the engine puts
    /// these in place of `Knn` nodes before building index queries).
    ScoredKeys {
        scores: std::sync::Arc<std::collections::HashMap<u64, f32>>,
        boost: f32,
        description: String,
    },
    /// A named clause (`_name`): reported in `matched_queries`.
    Named {
        name: String,
        query: Box<QueryAst>,
    },
}

impl QueryAst {
    /// Returns a copy whose direct child queries are replaced by `map(child)`; leaves are
    /// cloned as they are.
    pub fn try_map_children<E>(&self, map: &mut dyn FnMut(&QueryAst) -> Result<QueryAst, E>) -> Result<QueryAst, E> {
        let mut all = |clauses: &[QueryAst]| -> Result<Vec<QueryAst>, E> { clauses.iter().map(&mut *map).collect() };
        Ok(match self {
            QueryAst::Bool {
                must,
                should,
                filter,
                must_not,
                minimum_should_match,
                boost,
            } => QueryAst::Bool {
                must: all(must)?,
                should: all(should)?,
                filter: all(filter)?,
                must_not: all(must_not)?,
                minimum_should_match: minimum_should_match.clone(),
                boost: *boost,
            },
            QueryAst::DisMax {
                queries,
                tie_breaker,
                boost,
            } => QueryAst::DisMax {
                queries: all(queries)?,
                tie_breaker: *tie_breaker,
                boost: *boost,
            },
            QueryAst::ConstantScore { filter, boost } => QueryAst::ConstantScore {
                filter: Box::new(map(filter)?),
                boost: *boost,
            },
            QueryAst::Boosting {
                positive,
                negative,
                negative_boost,
                boost,
            } => QueryAst::Boosting {
                positive: Box::new(map(positive)?),
                negative: Box::new(map(negative)?),
                negative_boost: *negative_boost,
                boost: *boost,
            },
            QueryAst::ScriptScore {
                query,
                script,
                params,
                min_score,
                boost,
            } => QueryAst::ScriptScore {
                query: Box::new(map(query)?),
                script: script.clone(),
                params: params.clone(),
                min_score: *min_score,
                boost: *boost,
            },
            QueryAst::Named { name, query } => QueryAst::Named {
                name: name.clone(),
                query: Box::new(map(query)?),
            },
            QueryAst::AnyField {
                fields,
                query,
                tie_breaker,
            } => QueryAst::AnyField {
                fields: fields.clone(),
                query: Box::new(map(query)?),
                tie_breaker: *tie_breaker,
            },
            leaf => leaf.clone(),
        })
    }

    /// Returns every `_name`d clause of the tree, outermost first.
    pub fn named_queries(&self) -> Vec<(String, QueryAst)> {
        let mut found = Vec::new();
        self.visit(&mut |node| {
            if let QueryAst::Named { name, query } = node {
                found.push((name.clone(), (**query).clone()));
            }
        });
        found
    }

    /// Calls `visitor` on every node, parents first.
    pub fn visit(&self, visitor: &mut dyn FnMut(&QueryAst)) {
        visitor(self);
        match self {
            QueryAst::Bool {
                must,
                should,
                filter,
                must_not,
                ..
            } => {
                for child in must.iter().chain(should).chain(filter).chain(must_not) {
                    child.visit(visitor);
                }
            }
            QueryAst::DisMax { queries, .. } => queries.iter().for_each(|child| child.visit(visitor)),
            QueryAst::ConstantScore { filter: child, .. }
            | QueryAst::Named { query: child, .. }
            | QueryAst::AnyField { query: child, .. }
            | QueryAst::ScriptScore { query: child, .. } => child.visit(visitor),
            QueryAst::Boosting { positive, negative, .. } => {
                positive.visit(visitor);
                negative.visit(visitor);
            }
            _ => {}
        }
    }

    /// Returns this single-field query aimed at `field` instead (None for queries that
    /// have no single field).
    pub fn with_field(&self, field: &str) -> Option<QueryAst> {
        let mut copy = self.clone();
        let slot = match &mut copy {
            QueryAst::Term { field, .. }
            | QueryAst::Terms { field, .. }
            | QueryAst::Match { field, .. }
            | QueryAst::MatchPhrase { field, .. }
            | QueryAst::MatchPhrasePrefix { field, .. }
            | QueryAst::Range { field, .. }
            | QueryAst::Exists { field, .. }
            | QueryAst::Prefix { field, .. }
            | QueryAst::Wildcard { field, .. }
            | QueryAst::Regexp { field, .. }
            | QueryAst::Fuzzy { field, .. } => field,
            _ => return None,
        };
        *slot = field.to_string();
        Some(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_should_match_follows_es() {
        assert_eq!(MinimumShouldMatch::Count(2).required(3), 2);
        assert_eq!(MinimumShouldMatch::Count(-1).required(3), 2);
        assert_eq!(MinimumShouldMatch::Percent(75.0).required(4), 3);
        assert_eq!(MinimumShouldMatch::Percent(-25.0).required(4), 3);
        assert_eq!(MinimumShouldMatch::Percent(75.0).required(3), 2);
        let conditional = MinimumShouldMatch::Conditional(vec![
            (2, MinimumShouldMatch::Percent(-25.0)),
            (9, MinimumShouldMatch::Count(-3)),
        ]);
        assert_eq!(conditional.required(2), 2);
        assert_eq!(conditional.required(4), 3);
        assert_eq!(conditional.required(12), 9);
    }

    #[test]
    fn auto_fuzziness_follows_es() {
        let auto = Fuzziness::Auto { low: 3, high: 6 };
        assert_eq!(auto.distance_for(2), 0);
        assert_eq!(auto.distance_for(4), 1);
        assert_eq!(auto.distance_for(7), 2);
    }
}
