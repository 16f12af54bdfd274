//! Fills in the query vectors a search asks Iris to make: `query_vector_builder`
//! (`text_embedding`, `embedding`, `lookup`) and OpenSearch `neural`. Every input of the
//! request goes to its model in one batched call (per model), images fetched first.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::AppState;
use crate::embed::EmbedInput;
use crate::error::{Error, ErrorKind, Result};
use crate::index::source_filter::values_at;
use crate::query::ast::{KnnClause, QueryAst, QueryInput, VectorSource};
use crate::query::request::SearchRequest;

/// Every vector source of the request, once each. (`&mut` only because the retriever tree
/// hands out its clauses and query trees mutably; nothing is changed here.)
fn collect_sources(request: &mut SearchRequest) -> Vec<VectorSource> {
    let mut sources: Vec<VectorSource> = Vec::new();
    let mut add = |clause: &KnnClause| {
        if let Some(source) = &clause.vector_source
            && !sources.contains(source)
        {
            sources.push(source.clone());
        }
    };
    for clause in &request.knn {
        add(clause);
    }
    let mut trees: Vec<&QueryAst> = vec![&request.query];
    trees.extend(request.post_filter.as_ref());
    if let Some(retriever) = request.retriever.as_mut() {
        for clause in retriever.knn_clauses_mut() {
            add(clause);
        }
    }
    if let Some(retriever) = request.retriever.as_mut() {
        trees.extend(retriever.queries_mut().into_iter().map(|tree| &*tree));
    }
    for tree in trees {
        tree.visit(&mut |node| {
            if let QueryAst::Knn(clause) = node {
                add(clause);
            }
        });
    }
    sources
}

/// Resolves every vector source of `request` in place.
pub async fn resolve(state: &AppState, request: &mut SearchRequest) -> Result<()> {
    let sources = collect_sources(request);
    if sources.is_empty() {
        return Ok(());
    }
    let mut vectors: HashMap<VectorSource, Vec<f32>> = HashMap::new();
    let mut by_model: HashMap<String, Vec<VectorSource>> = HashMap::new();
    for source in sources {
        match &source {
            VectorSource::Embed { model_id, .. } => by_model.entry(model_id.clone()).or_default().push(source),
            VectorSource::Lookup { index, id, path } => {
                let vector = lookup(state, index, id, path).await?;
                vectors.insert(source, vector);
            }
        }
    }
    for (model_id, sources) in by_model {
        embed_sources(state, &model_id, sources, &mut vectors).await?;
    }
    fill(request, &vectors)
}

/// One embedding call for all the inputs that name `model_id`.
async fn embed_sources(
    state: &AppState,
    model_id: &str,
    sources: Vec<VectorSource>,
    vectors: &mut HashMap<VectorSource, Vec<f32>>,
) -> Result<()> {
    let services = state.ingest().services.clone();
    let mut unique: Vec<QueryInput> = Vec::new();
    for source in &sources {
        if let VectorSource::Embed { inputs, .. } = source {
            for input in inputs {
                if !unique.contains(input) {
                    unique.push(input.clone());
                }
            }
        }
    }
    let references: Vec<String> = unique
        .iter()
        .filter_map(|input| match input {
            QueryInput::Image(reference) => Some(reference.clone()),
            QueryInput::Text(_) => None,
        })
        .collect();
    let mut fetched = services.fetcher.fetch_all(&references).await.into_iter();
    let mut batch = Vec::with_capacity(unique.len());
    for input in &unique {
        batch.push(match input {
            QueryInput::Text(text) => EmbedInput::Text(text.clone()),
            QueryInput::Image(_) => match fetched.next() {
                Some(Ok(bytes)) => EmbedInput::Image(Arc::new(bytes)),
                Some(Err(error)) => return Err(Error::illegal_argument(error.to_string())),
                None => unreachable!("one fetch result per image reference"),
            },
        });
    }
    let embedder = services.embedder.clone();
    let model = model_id.to_string();
    let outputs = tokio::task::spawn_blocking(move || embedder.embed(&model, &batch))
        .await
        .map_err(|error| Error::internal(format!("embedding task failed: {error}")))??;
    let mut by_input: HashMap<&QueryInput, Vec<f32>> = HashMap::new();
    for (input, output) in unique.iter().zip(outputs) {
        by_input.insert(input, output.map_err(Error::from)?);
    }
    for source in sources {
        let VectorSource::Embed { inputs, .. } = &source else {
            continue;
        };
        let parts: Vec<&Vec<f32>> = inputs.iter().filter_map(|input| by_input.get(input)).collect();
        vectors.insert(source.clone(), mean_of(&parts));
    }
    Ok(())
}

/// One vector as is; several averaged and re-normalised (a text plus an image).
fn mean_of(parts: &[&Vec<f32>]) -> Vec<f32> {
    match parts {
        [] => Vec::new(),
        [single] => (*single).clone(),
        many => {
            let mut sum = vec![0.0_f32; many[0].len()];
            for part in many {
                sum.iter_mut()
                    .zip(part.iter())
                    .for_each(|(total, value)| *total += value);
            }
            let norm = sum.iter().map(|value| value * value).sum::<f32>().sqrt();
            if norm > 0.0 {
                sum.iter_mut().for_each(|value| *value /= norm);
            }
            sum
        }
    }
}

/// The vector at `path` of document `id` in `index` (ES `lookup`).
async fn lookup(state: &AppState, index: &str, id: &str, path: &str) -> Result<Vec<f32>> {
    let handle = state
        .registry()
        .get(index)
        .ok_or_else(|| Error::index_not_found(index))?;
    let reading = handle.clone();
    let doc_id = id.to_string();
    let found = super::blocking(move || {
        let Some(document) = reading.get(&doc_id)? else {
            return Ok(None);
        };
        Ok(Some(reading.full_source(&document)?))
    })
    .await?;
    let Some(source) = found else {
        return Err(Error::new(
            ErrorKind::ResourceNotFound,
            format!("[lookup] document [{id}] not found in index [{index}]"),
        ));
    };
    let source: Value = serde_json::from_slice(&source)?;
    let values: Vec<f32> = values_at(&source, path)
        .into_iter()
        .filter_map(|value| value.as_f64().map(|number| number as f32))
        .collect();
    if values.is_empty() {
        return Err(Error::illegal_argument(format!(
            "[lookup] document [{id}] in index [{index}] has no vector at [{path}]"
        )));
    }
    Ok(values)
}

/// Puts the resolved vectors into every clause.
fn fill(request: &mut SearchRequest, vectors: &HashMap<VectorSource, Vec<f32>>) -> Result<()> {
    for clause in &mut request.knn {
        fill_clause(clause, vectors);
    }
    if let Some(retriever) = &mut request.retriever {
        for clause in retriever.knn_clauses_mut() {
            fill_clause(clause, vectors);
        }
        for tree in retriever.queries_mut() {
            *tree = fill_tree(tree, vectors)?;
        }
    }
    request.query = fill_tree(&request.query, vectors)?;
    if let Some(post_filter) = &request.post_filter {
        request.post_filter = Some(fill_tree(post_filter, vectors)?);
    }
    Ok(())
}

fn fill_clause(clause: &mut KnnClause, vectors: &HashMap<VectorSource, Vec<f32>>) {
    if let Some(source) = clause.vector_source.take()
        && let Some(vector) = vectors.get(&source)
    {
        clause.query_vector = vector.clone();
    }
}

fn fill_tree(node: &QueryAst, vectors: &HashMap<VectorSource, Vec<f32>>) -> Result<QueryAst> {
    if let QueryAst::Knn(clause) = node {
        let mut clause = clause.clone();
        fill_clause(&mut clause, vectors);
        return Ok(QueryAst::Knn(clause));
    }
    node.try_map_children(&mut |child| fill_tree(child, vectors))
}
