//! A fused document's `_explanation`, worded as the engine whose method fused it words it.
//!
//! - Elasticsearch `rrf` (and the legacy `rank`), from `RRFRankDoc.explain`: the top line lists the
//!   document's rank in each list (0 where absent) and the rank constant; one detail per list
//!   whose value is the rank, with that list's own explanation beneath.
//! - Elasticsearch `linear`, from `LinearRankDoc.explain`: the normalised scores and weights on
//!   top; one detail per list with its weighted score and normalizer.
//! - OpenSearch `normalization-processor` and `score-ranker-processor`, from the
//!   `hybrid_score_explanation` response processor: `<combination> combination of:` over one
//!   `<normalization> normalization of:` node per sub-query that returned the document.
//!
//! Iris adds what those texts leave out, so that every part of the score can be read off: a
//! weight other than 1 in `rrf`, the rank in `linear`, and the sub-query, rank and weight in
//! OpenSearch's normalization nodes.

use serde_json::{Value, json};

use super::{Component, FusedDoc, FusionMethod, java_float_list_string, java_float_string};

/// `sources` holds, per input list, how that list scored the document (its query's explanation,
/// or a nested fusion's); `None` where the list does not contain it or nothing is known.
/// `names` holds each list's `_name`, which ES shows after the list's index.
pub fn explain<K>(
    method: &FusionMethod,
    doc: &FusedDoc<K>,
    sources: &[Option<Value>],
    names: &[Option<String>],
) -> Value {
    let source = |position: usize| sources.get(position).cloned().flatten();
    let which = |position: usize| match names.get(position).cloned().flatten() {
        Some(name) => format!("at index [{position}] [{name}]"),
        None => format!("at index [{position}]"),
    };
    match method {
        FusionMethod::Rrf(params) => elasticsearch_rrf(doc, params.rank_constant, source, which),
        FusionMethod::Linear(params) => {
            let normalizers: Vec<&str> = params
                .components
                .iter()
                .map(|component| component.normalizer.name())
                .collect();
            elasticsearch_linear(doc, &normalizers, source, which)
        }
        FusionMethod::OpenSearchRrf(_) => opensearch(doc, "rrf", "rrf", source),
        FusionMethod::OpenSearchNormalization(params) => opensearch(
            doc,
            params.combination.technique_name(),
            params.normalization.technique_name(),
            source,
        ),
    }
}

fn node(value: f32, description: String, details: Vec<Value>) -> Value {
    json!({"value": crate::encoding::shortest_f64(value), "description": description, "details": details})
}

fn elasticsearch_rrf<K>(
    doc: &FusedDoc<K>,
    rank_constant: u32,
    source: impl Fn(usize) -> Option<Value>,
    which: impl Fn(usize) -> String,
) -> Value {
    let details = doc
        .components
        .iter()
        .enumerate()
        .map(|(position, component)| match component.rank {
            None => node(
                0.0,
                format!("rrf score: [0], result not found in query {}", which(position)),
                Vec::new(),
            ),
            Some(rank) => {
                let formula = if component.weight == 1.0 {
                    format!("1 / ({rank} + {rank_constant})")
                } else {
                    format!("{} * 1 / ({rank} + {rank_constant})", java_float_string(component.weight))
                };
                node(
                    rank as f32,
                    format!(
                        "rrf score: [{}], for rank [{rank}] in query {} computed as [{formula}], for matching query with score",
                        java_float_string(component.contribution),
                        which(position)
                    ),
                    source(position).into_iter().collect(),
                )
            }
        })
        .collect();
    let ranks: Vec<String> = doc
        .components
        .iter()
        .map(|component| component.rank.unwrap_or(0).to_string())
        .collect();
    node(
        doc.score,
        format!(
            "rrf score: [{}] computed for initial ranks [{}] with rankConstant: [{rank_constant}] as sum of [1 / (rank + rankConstant)] for each query",
            java_float_string(doc.score),
            ranks.join(", ")
        ),
        details,
    )
}

fn elasticsearch_linear<K>(
    doc: &FusedDoc<K>,
    normalizers: &[&str],
    source: impl Fn(usize) -> Option<Value>,
    which: impl Fn(usize) -> String,
) -> Value {
    let normalized: Vec<f32> = doc
        .components
        .iter()
        .map(|component| component.normalized.unwrap_or(0.0))
        .collect();
    let weights: Vec<f32> = doc.components.iter().map(|component| component.weight).collect();
    let details = doc
        .components
        .iter()
        .enumerate()
        .map(|(position, component)| {
            let score = component.normalized.unwrap_or(0.0);
            // As in ES, a normalised score of 0 reads as "not found".
            if score > 0.0 {
                let weighted = component.weight * score;
                node(
                    weighted,
                    format!(
                        "weighted score: [{}] in query {} (rank [{}]) computed as [{} * {}] using score normalizer [{}] for original matching query with score:",
                        java_float_string(weighted),
                        which(position),
                        component.rank.unwrap_or(0),
                        java_float_string(component.weight),
                        java_float_string(score),
                        normalizers.get(position).copied().unwrap_or("none")
                    ),
                    source(position).into_iter().collect(),
                )
            } else {
                node(
                    0.0,
                    format!("weighted score: [0], result not found in query {}", which(position)),
                    Vec::new(),
                )
            }
        })
        .collect();
    node(
        doc.score,
        format!(
            "weighted linear combination score: [{}] computed for normalized scores {} and weights {} as sum of (weight[i] * score[i]) for each query.",
            java_float_string(doc.score),
            java_float_list_string(&normalized),
            java_float_list_string(&weights)
        ),
        details,
    )
}

fn opensearch<K>(
    doc: &FusedDoc<K>,
    combination: &str,
    normalization: &str,
    source: impl Fn(usize) -> Option<Value>,
) -> Value {
    let details = doc
        .components
        .iter()
        .enumerate()
        .filter_map(|(position, component): (usize, &Component)| {
            let rank = component.rank?;
            Some(node(
                component.normalized.unwrap_or(0.0),
                format!(
                    "{normalization} normalization of sub-query [{position}] (rank [{rank}], weight [{}]):",
                    java_float_string(component.weight)
                ),
                source(position).into_iter().collect(),
            ))
        })
        .collect();
    node(doc.score, format!("{combination} combination of:"), details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::testing::doc_list as list;
    use crate::fusion::{fuse, linear, opensearch as os, rrf};

    fn source(value: f32) -> Option<Value> {
        Some(json!({"value": value, "description": "leaf", "details": []}))
    }

    #[test]
    fn rrf_lists_ranks_and_each_lists_source() {
        // Doc 2: rank 2 in the first list, absent from the second.
        let lists = [list(&[(1, 4.0), (2, 3.0)]), list(&[(1, 0.9)])];
        let method = FusionMethod::Rrf(rrf::RrfParams::new(2, 10));
        let fused = fuse(&lists, &method).expect("fuse");
        let doc = fused.iter().find(|doc| doc.key == 2).expect("doc 2");
        let explained = explain(&method, doc, &[source(3.0), None], &[None, Some("images".to_string())]);
        assert_eq!(
            explained["description"],
            "rrf score: [0.016129032] computed for initial ranks [2, 0] with rankConstant: [60] as sum of [1 / (rank + rankConstant)] for each query"
        );
        assert_eq!(explained["details"][0]["value"], 2.0);
        assert_eq!(
            explained["details"][0]["description"],
            "rrf score: [0.016129032], for rank [2] in query at index [0] computed as [1 / (2 + 60)], for matching query with score"
        );
        assert_eq!(explained["details"][0]["details"][0]["value"], 3.0);
        assert_eq!(
            explained["details"][1]["description"],
            "rrf score: [0], result not found in query at index [1] [images]"
        );
    }

    #[test]
    fn rrf_shows_a_weight_other_than_one() {
        let lists = [list(&[(1, 4.0)])];
        let method = FusionMethod::Rrf(rrf::RrfParams::new(1, 10).with_weights(vec![2.0]));
        let doc = &fuse(&lists, &method).expect("fuse")[0];
        let explained = explain(&method, doc, &[None], &[]);
        assert!(
            explained["details"][0]["description"]
                .as_str()
                .expect("text")
                .contains("computed as [2.0 * 1 / (1 + 60)]"),
            "{explained}"
        );
    }

    #[test]
    fn linear_lists_normalized_scores_weights_and_normalizers() {
        // minmax over [4, 2]: doc 1 → 1, doc 2 → 0 ("not found", as ES words it).
        let lists = [list(&[(1, 4.0), (2, 2.0)]), list(&[(2, 0.5)])];
        let components = vec![
            linear::LinearComponent::new(2.0, linear::Normalizer::MinMax),
            linear::LinearComponent::new(1.0, linear::Normalizer::None),
        ];
        let method = FusionMethod::Linear(linear::LinearParams::new(2, 10).with_components(components));
        let fused = fuse(&lists, &method).expect("fuse");
        let doc = fused.iter().find(|doc| doc.key == 2).expect("doc 2");
        let explained = explain(&method, doc, &[source(2.0), source(0.5)], &[]);
        assert_eq!(
            explained["description"],
            "weighted linear combination score: [0.5] computed for normalized scores [0.0, 0.5] and weights [2.0, 1.0] as sum of (weight[i] * score[i]) for each query."
        );
        assert_eq!(
            explained["details"][0]["description"],
            "weighted score: [0], result not found in query at index [0]"
        );
        assert_eq!(
            explained["details"][1]["description"],
            "weighted score: [0.5] in query at index [1] (rank [1]) computed as [1.0 * 0.5] using score normalizer [none] for original matching query with score:"
        );
        assert_eq!(explained["details"][1]["details"][0]["value"], 0.5);
    }

    #[test]
    fn opensearch_nodes_cover_the_sub_queries_that_returned_the_document() {
        let lists = [
            list(&[(1, 4.0), (2, 3.0), (3, 2.0)]),
            list(&[(4, 5.0), (3, 1.0), (2, 0.5)]),
        ];
        let params = os::NormalizationProcessorParams {
            weights: Some(vec![0.3, 0.7]),
            ..Default::default()
        };
        let method = FusionMethod::OpenSearchNormalization(params);
        let fused = fuse(&lists, &method).expect("fuse");
        let one = fused.iter().find(|doc| doc.key == 1).expect("doc 1");
        let explained = explain(&method, one, &[source(4.0), None], &[]);
        assert_eq!(explained["description"], "arithmetic_mean combination of:");
        assert_eq!(explained["details"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            explained["details"][0]["description"],
            "min_max normalization of sub-query [0] (rank [1], weight [0.3]):"
        );
        assert_eq!(explained["details"][0]["value"], 1.0);
        assert_eq!(explained["details"][0]["details"][0]["value"], 4.0);
    }
}
