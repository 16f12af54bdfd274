//! OpenSearch search pipelines as far as hybrid search needs them: one phase-results
//! processor, `normalization-processor` or `score-ranker-processor`, turned into a
//! [`FusionMethod`]. Definitions are kept in `<data>/search_pipelines.json` by
//! `store::definitions`.

use serde_json::Value;

use super::FusionMethod;
use super::opensearch::{
    BoundMode, Combination, MinMaxBounds, Normalization, NormalizationProcessorParams, ScoreBound,
};
use super::rrf::{ScoreRankerParams, validate_opensearch_rank_constant};
use crate::error::{Error, ErrorKind, Result};
use crate::store::definitions::{Definition, DefinitionStore};

/// A stored search pipeline: its definition and the fusion it asks for.
#[derive(Debug, Clone)]
pub struct SearchPipeline {
    pub definition: Value,
    pub fusion: Option<FusionMethod>,
}

fn parse_failure(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::Parse, reason)
}

fn weights(parameters: Option<&Value>) -> Result<Option<Vec<f32>>> {
    let Some(weights) = parameters.and_then(|parameters| parameters.get("weights")) else {
        return Ok(None);
    };
    let Value::Array(items) = weights else {
        return Err(parse_failure("[weights] must be an array of numbers"));
    };
    items
        .iter()
        .map(|item| {
            item.as_f64()
                .map(|weight| weight as f32)
                .ok_or_else(|| parse_failure("[weights] must be an array of numbers"))
        })
        .collect::<Result<Vec<f32>>>()
        .map(Some)
}

fn bounds(parameters: Option<&Value>, key: &str) -> Result<Option<Vec<ScoreBound>>> {
    let Some(Value::Array(items)) = parameters.and_then(|parameters| parameters.get(key)) else {
        return Ok(None);
    };
    items
        .iter()
        .map(|item| {
            let mode = BoundMode::parse(item.get("mode").and_then(Value::as_str).unwrap_or("apply"))
                .map_err(|error| Error::illegal_argument(error.to_string()))?;
            let score_key = if key == "lower_bounds" {
                "min_score"
            } else {
                "max_score"
            };
            let score = item.get(score_key).and_then(Value::as_f64).unwrap_or(0.0) as f32;
            Ok(ScoreBound::new(mode, score))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn technique(object: Option<&Value>) -> Option<&str> {
    object
        .and_then(|object| object.get("technique"))
        .and_then(Value::as_str)
}

/// The response processors Iris takes: only `hybrid_score_explanation`, which OpenSearch needs for
/// `explain` on `hybrid` queries and Iris does not (fused hits are always explained), so it is
/// accepted and changes nothing.
fn check_response_processors(processors: &Value) -> Result<()> {
    let Value::Array(processors) = processors else {
        return Err(parse_failure("[response_processors] must be an array"));
    };
    for processor in processors {
        let name = processor
            .as_object()
            .filter(|object| object.len() == 1)
            .and_then(|object| object.keys().next())
            .ok_or_else(|| parse_failure("a response processor must be an object with one processor type"))?;
        if name != "hybrid_score_explanation" {
            return Err(Error::illegal_argument(format!(
                "response processor [{name}] is not supported by Iris; only [hybrid_score_explanation] is accepted"
            )));
        }
    }
    Ok(())
}

impl SearchPipeline {
    /// Parses a `PUT /_search/pipeline/{id}` body.
    pub fn parse(definition: &Value) -> Result<SearchPipeline> {
        let Value::Object(body) = definition else {
            return Err(parse_failure("search pipeline definition must be an object"));
        };
        for key in body.keys() {
            match key.as_str() {
                "description" | "version" | "phase_results_processors" => {}
                "response_processors" => check_response_processors(&body[key])?,
                "request_processors" => {
                    return Err(Error::illegal_argument(format!(
                        "[{key}] are not supported by Iris; search pipelines hold a normalization-processor or score-ranker-processor"
                    )));
                }
                other => return Err(parse_failure(format!("unknown search pipeline field [{other}]"))),
            }
        }
        let processors = match body.get("phase_results_processors") {
            None => Vec::new(),
            Some(Value::Array(processors)) => processors.clone(),
            Some(_) => return Err(parse_failure("[phase_results_processors] must be an array")),
        };
        if processors.len() > 1 {
            return Err(Error::illegal_argument(
                "only one phase_results_processor is supported per search pipeline",
            ));
        }
        let fusion = processors.first().map(parse_processor).transpose()?;
        Ok(SearchPipeline {
            definition: definition.clone(),
            fusion,
        })
    }
}

fn parse_processor(processor: &Value) -> Result<FusionMethod> {
    let Some((name, config)) = processor
        .as_object()
        .filter(|object| object.len() == 1)
        .and_then(|object| object.iter().next())
    else {
        return Err(parse_failure(
            "a processor must be an object with exactly one key, the processor type",
        ));
    };
    let invalid = |error: super::FusionError| Error::illegal_argument(error.to_string());
    match name.as_str() {
        "normalization-processor" => {
            let normalization_config = config.get("normalization");
            let combination_config = config.get("combination");
            let mut normalization = match technique(normalization_config) {
                None => Normalization::default(),
                Some(name) => Normalization::from_technique_name(name).map_err(invalid)?,
            };
            if let Normalization::MinMax(_) = normalization {
                let parameters = normalization_config.and_then(|config| config.get("parameters"));
                normalization = Normalization::MinMax(MinMaxBounds {
                    lower_bounds: bounds(parameters, "lower_bounds")?,
                    upper_bounds: bounds(parameters, "upper_bounds")?,
                });
            }
            let combination = match technique(combination_config) {
                None => Combination::default(),
                Some(name) => Combination::from_technique_name(name).map_err(invalid)?,
            };
            let params = NormalizationProcessorParams {
                normalization,
                combination,
                weights: weights(combination_config.and_then(|config| config.get("parameters")))?,
            };
            params.validate().map_err(invalid)?;
            Ok(FusionMethod::OpenSearchNormalization(params))
        }
        "score-ranker-processor" => {
            let combination = config.get("combination");
            if let Some(name) = technique(combination)
                && name != "rrf"
            {
                return Err(Error::illegal_argument(format!(
                    "provided combination technique [{name}] is not supported by the score-ranker-processor; use [rrf]"
                )));
            }
            let mut params = ScoreRankerParams::default();
            if let Some(constant) = combination.and_then(|config| config.get("rank_constant")) {
                let constant = constant
                    .as_i64()
                    .ok_or_else(|| parse_failure("[rank_constant] must be an integer"))?;
                params.rank_constant = validate_opensearch_rank_constant(constant).map_err(invalid)?;
            }
            params.weights = weights(combination.and_then(|config| config.get("parameters")))?;
            params.validate().map_err(invalid)?;
            Ok(FusionMethod::OpenSearchRrf(params))
        }
        other => Err(Error::illegal_argument(format!(
            "the [{other}] search processor is not supported by Iris; use normalization-processor or score-ranker-processor"
        ))),
    }
}

/// The stored search pipelines (`<data>/search_pipelines.json`).
pub type SearchPipelineStore = DefinitionStore<SearchPipeline>;

/// The file the search pipelines live in, under the data folder.
pub const FILE_NAME: &str = "search_pipelines.json";

impl Definition for SearchPipeline {
    fn parse(definition: &Value) -> Result<SearchPipeline> {
        SearchPipeline::parse(definition)
    }

    fn definition(&self) -> &Value {
        &self.definition
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_explanation_response_processor_is_accepted() {
        let accepted = SearchPipeline::parse(&json!({"response_processors": [{"hybrid_score_explanation": {}}]}));
        assert!(accepted.is_ok_and(|pipeline| pipeline.fusion.is_none()));
        let refused = SearchPipeline::parse(&json!({"response_processors": [{"collapse": {"field": "a"}}]}));
        assert!(refused.is_err_and(|error| error.to_string().contains("[collapse] is not supported")));
        assert!(SearchPipeline::parse(&json!({"response_processors": {"hybrid_score_explanation": {}}})).is_err());
    }

    #[test]
    fn processors_become_fusion_methods_and_are_validated() {
        let pipeline = SearchPipeline::parse(&json!({"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "l2"},
            "combination": {"technique": "harmonic_mean", "parameters": {"weights": [0.4, 0.6]}}
        }}]}))
        .expect("valid");
        let Some(FusionMethod::OpenSearchNormalization(params)) = pipeline.fusion else {
            panic!("normalization");
        };
        assert_eq!(params.normalization, Normalization::L2);
        assert_eq!(params.combination, Combination::HarmonicMean);
        assert_eq!(params.weights, Some(vec![0.4, 0.6]));
        let ranker = SearchPipeline::parse(&json!({"phase_results_processors": [{"score-ranker-processor": {
            "combination": {"technique": "rrf", "rank_constant": 40}
        }}]}))
        .expect("valid");
        assert!(matches!(
            ranker.fusion,
            Some(FusionMethod::OpenSearchRrf(ScoreRankerParams { rank_constant: 40, .. }))
        ));
        let error = |value: Value| SearchPipeline::parse(&value).unwrap_err().reason;
        assert_eq!(
            error(
                json!({"phase_results_processors": [{"normalization-processor": {"combination": {"technique": "nope"}}}]})
            ),
            "provided combination technique is not supported"
        );
        assert!(
            error(json!({"phase_results_processors": [{"normalization-processor": {"combination": {"parameters": {"weights": [0.2, 0.2]}}}}]}))
                .starts_with("sum of weights for combination must be equal to 1.0")
        );
    }
}
