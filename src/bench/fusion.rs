//! The fused-query benchmark of `iris bench http --fusion`: one request fusing BM25 on the
//! caption with kNN on two vector fields, in each syntax Iris speaks, set beside the three
//! searches it is made of.
//!
//! Query number i of every form is built from the same [`FusionInput`] (each maker draws one
//! input from a generator seeded alike), so "the sum of its parts" adds up the same searches
//! the fused request runs.

use serde_json::{Value, json};

use super::QueryMaker;
use super::data::{FUSION_IMAGE_DIMS, FUSION_TEXT_DIMS, FusionInput, Generator};

/// The search pipeline the index uses by default, so that `hybrid` queries are fused by it.
pub const SEARCH_PIPELINE: &str = "bench-min-max";
/// k of each kNN part, and the candidates it considers (ES `num_candidates`, OpenSearch
/// `ef_search`), alike in every form so that the forms do the same vector work.
const K: usize = 10;
const NUM_CANDIDATES: usize = 100;

/// The query forms: the three parts, then the fused requests.
pub const PARTS: [(&str, QueryMaker); 3] = [
    ("fusion_part_bm25", bm25_part),
    ("fusion_part_image_knn", image_knn_part),
    ("fusion_part_text_knn", text_knn_part),
];
pub const FUSED: [(&str, QueryMaker); 3] = [
    ("fused_rrf_retriever", rrf_retriever),
    ("fused_query_plus_knn", query_plus_knn),
    ("fused_opensearch_hybrid", opensearch_hybrid),
];

/// Mapping additions: the two vector fields (ES defaults: int8_hnsw, m 16, ef_construction 100)
/// and the default search pipeline.
pub fn extend_mapping(mapping: &mut Value) {
    mapping["settings"]["index.search.default_pipeline"] = json!(SEARCH_PIPELINE);
    mapping["mappings"]["properties"]["image_vec"] =
        json!({"type": "dense_vector", "dims": FUSION_IMAGE_DIMS, "similarity": "cosine"});
    mapping["mappings"]["properties"]["text_space"] =
        json!({"type": "dense_vector", "dims": FUSION_TEXT_DIMS, "similarity": "cosine"});
}

/// The search pipeline of the README's hybrid recipe: min_max, then a weighted arithmetic mean.
pub fn search_pipeline() -> Value {
    json!({"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.3, 0.3]}}}}]})
}

fn match_clause(input: &FusionInput) -> Value {
    json!({"match": {"caption": input.text}})
}

fn knn_clause(field: &str, vector: &[f32]) -> Value {
    json!({"field": field, "query_vector": vector, "k": K, "num_candidates": NUM_CANDIDATES})
}

fn bm25_part(generator: &mut Generator) -> Value {
    json!({"query": match_clause(&generator.fusion_input())})
}

fn image_knn_part(generator: &mut Generator) -> Value {
    json!({"knn": knn_clause("image_vec", &generator.fusion_input().image_vec)})
}

fn text_knn_part(generator: &mut Generator) -> Value {
    json!({"knn": knn_clause("text_space", &generator.fusion_input().text_space)})
}

/// ES 8.14+: reciprocal rank fusion of three retrievers (rank_window_size 10).
fn rrf_retriever(generator: &mut Generator) -> Value {
    let input = generator.fusion_input();
    json!({"retriever": {"rrf": {"retrievers": [
        {"standard": {"query": match_clause(&input)}},
        {"knn": knn_clause("image_vec", &input.image_vec)},
        {"knn": knn_clause("text_space", &input.text_space)}
    ]}}})
}

/// ES: `query` and two `knn` clauses in one body; the scores add.
fn query_plus_knn(generator: &mut Generator) -> Value {
    let input = generator.fusion_input();
    json!({"query": match_clause(&input), "knn": [
        knn_clause("image_vec", &input.image_vec),
        knn_clause("text_space", &input.text_space)
    ]})
}

/// OpenSearch: a `hybrid` query fused by the index's default search pipeline.
fn opensearch_hybrid(generator: &mut Generator) -> Value {
    let input = generator.fusion_input();
    json!({"query": {"hybrid": {"queries": [
        match_clause(&input),
        {"knn": {"image_vec": {"vector": input.image_vec, "k": K, "method_parameters": {"ef_search": NUM_CANDIDATES}}}},
        {"knn": {"text_space": {"vector": input.text_space, "k": K, "method_parameters": {"ef_search": NUM_CANDIDATES}}}}
    ]}}})
}

/// `p50_us` of the line for `query` at `concurrency`.
fn p50(lines: &[Value], query: &str, concurrency: usize) -> Option<u64> {
    lines
        .iter()
        .find(|line| line["query"] == query && line["concurrency"] == concurrency)
        .and_then(|line| line["p50_us"].as_u64())
}

/// One line per concurrency: each fused form's p50 beside the sum of its parts' p50s.
pub fn summary(lines: &[Value], concurrency: usize) -> Value {
    let parts: Option<u64> = PARTS.iter().map(|(name, _)| p50(lines, name, concurrency)).sum();
    let mut line = json!({"bench": "fusion", "concurrency": concurrency, "parts_p50_sum_us": parts});
    for (name, _) in FUSED {
        if let (Some(fused), Some(parts)) = (p50(lines, name, concurrency), parts) {
            line[format!("{name}_p50_us")] = json!(fused);
            line[format!("{name}_vs_parts")] = json!((fused as f64 / parts as f64 * 100.0).round() / 100.0);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_draws_the_same_inputs_in_turn() {
        let text_of = |make: fn(&mut Generator) -> Value| {
            let mut generator = Generator::new(7);
            make(&mut generator);
            make(&mut generator).to_string()
        };
        let bm25 = text_of(bm25_part);
        let text = bm25
            .split("\"caption\":")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("caption");
        for (_, make) in FUSED {
            assert!(text_of(make).contains(text), "{text}");
        }
        let image = &Generator::new(7).fusion_input().image_vec;
        assert_eq!(image.len(), FUSION_IMAGE_DIMS);
        assert_eq!(
            image_knn_part(&mut Generator::new(7))["knn"]["query_vector"],
            json!(image)
        );
    }

    #[test]
    fn summary_sets_each_fused_form_beside_the_sum_of_the_parts() {
        let lines: Vec<Value> = [
            ("fusion_part_bm25", 100),
            ("fusion_part_image_knn", 300),
            ("fusion_part_text_knn", 200),
        ]
        .into_iter()
        .chain([("fused_rrf_retriever", 450)])
        .map(|(query, p50)| json!({"query": query, "concurrency": 1, "p50_us": p50}))
        .collect();
        let line = summary(&lines, 1);
        assert_eq!(line["parts_p50_sum_us"], 600);
        assert_eq!(line["fused_rrf_retriever_p50_us"], 450);
        assert_eq!(line["fused_rrf_retriever_vs_parts"], 0.75);
        assert!(line.get("fused_opensearch_hybrid_p50_us").is_none());
    }
}
