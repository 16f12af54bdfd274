//! Binds the aggregation tree to the target indices and computes it: each node gets its
//! field columns or filter document sets once, then buckets split the documents and
//! sub-aggregations run per bucket.

use std::cell::OnceCell;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::docs::{DocRef, DocSet, all_docs, query_doc_set};
use super::format::java_double;
use super::values::{Accepts, FieldSource, Key};
use super::{
    AggKind, AggTarget, AggregationNode, BucketOrder, DateHistogramSpec, DateRangeSpec, FiltersSpec, HistogramSpec,
    MetricSpec, OrderTarget, RangeSpec, TermsSpec, TopHitsSpec,
};
use super::{filters, histogram, metric, ranges, terms, top_hits};
use crate::error::{Error, Result};

/// What every node of a computation shares.
pub struct Context<'a> {
    pub targets: &'a [AggTarget<'a>],
    pub now_millis: i64,
    all_docs: OnceCell<Vec<DocRef>>,
}

impl<'a> Context<'a> {
    /// Returns a context over `targets`.
    pub fn new(targets: &'a [AggTarget<'a>], now_millis: i64) -> Context<'a> {
        Context {
            targets,
            now_millis,
            all_docs: OnceCell::new(),
        }
    }

    /// Returns every live document of the targets (computed once).
    pub fn all_docs(&self) -> &[DocRef] {
        self.all_docs.get_or_init(|| all_docs(self.targets))
    }
}

/// A node with its inputs resolved against the targets.
pub struct BoundNode<'p> {
    pub plan: &'p AggregationNode,
    pub kind: BoundKind<'p>,
    pub children: Vec<BoundNode<'p>>,
}

/// The per-type inputs of a bound node.
pub enum BoundKind<'p> {
    Terms(&'p TermsSpec, FieldSource),
    Range(&'p RangeSpec, FieldSource),
    DateRange(&'p DateRangeSpec, FieldSource),
    Histogram(&'p HistogramSpec, FieldSource),
    DateHistogram(&'p DateHistogramSpec, FieldSource),
    Filter(DocSet),
    Filters(&'p FiltersSpec, Vec<DocSet>),
    Missing(FieldSource),
    Global,
    Metric(&'p MetricSpec, FieldSource),
    /// One source per sort key (`None` for `_score` and `_doc`).
    TopHits(&'p TopHitsSpec, Vec<Option<FieldSource>>),
}

/// Computes the whole tree over the documents matching the main query.
pub fn compute_tree(
    nodes: &[AggregationNode],
    targets: &[AggTarget<'_>],
    matches: &[DocRef],
    now_millis: i64,
) -> Result<Value> {
    let context = Context::new(targets, now_millis);
    let bound = nodes
        .iter()
        .map(|node| bind(node, &context))
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Object(compute_children(&bound, matches, &context)?))
}

fn bind<'p>(node: &'p AggregationNode, context: &Context<'_>) -> Result<BoundNode<'p>> {
    let targets = context.targets;
    let type_name = node.kind.type_name();
    let field = |field: &str, accepts| FieldSource::open(targets, field, type_name, accepts);
    let kind = match &node.kind {
        AggKind::Terms(spec) => BoundKind::Terms(spec, field(&spec.field, Accepts::Any)?),
        AggKind::Range(spec) => BoundKind::Range(spec, field(&spec.field, Accepts::Numeric)?),
        AggKind::DateRange(spec) => BoundKind::DateRange(spec, field(&spec.field, Accepts::Numeric)?),
        AggKind::Histogram(spec) => BoundKind::Histogram(spec, field(&spec.field, Accepts::Numeric)?),
        AggKind::DateHistogram(spec) => BoundKind::DateHistogram(spec, field(&spec.field, Accepts::Numeric)?),
        AggKind::Filter(query) => BoundKind::Filter(query_doc_set(targets, query, context.now_millis)?),
        AggKind::Filters(spec) => BoundKind::Filters(
            spec,
            spec.filters
                .iter()
                .map(|(_, query)| query_doc_set(targets, query, context.now_millis))
                .collect::<Result<Vec<_>>>()?,
        ),
        AggKind::Missing { field: name } => BoundKind::Missing(field(name, Accepts::Any)?),
        AggKind::Global => BoundKind::Global,
        AggKind::Metric(spec) => {
            let accepts = if spec.kind.is_numeric() {
                Accepts::Numeric
            } else {
                Accepts::Any
            };
            BoundKind::Metric(spec, field(&spec.field, accepts)?)
        }
        AggKind::TopHits(spec) => BoundKind::TopHits(spec, top_hits::sort_sources(spec, targets)?),
    };
    if let AggKind::Terms(TermsSpec { order, .. }) = &node.kind {
        check_order_paths(node, order)?;
    }
    let children = node
        .children
        .iter()
        .map(|child| bind(child, context))
        .collect::<Result<Vec<_>>>()?;
    Ok(BoundNode {
        plan: node,
        kind,
        children,
    })
}

/// Computes sibling aggregations over the same documents.
pub fn compute_children(
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Map<String, Value>> {
    let mut results = Map::new();
    for child in children {
        results.insert(child.plan.name.clone(), compute_node(child, docs, context)?);
    }
    Ok(results)
}

fn compute_node(node: &BoundNode<'_>, docs: &[DocRef], context: &Context<'_>) -> Result<Value> {
    let children = &node.children;
    let result = match &node.kind {
        BoundKind::Terms(spec, source) => terms::compute_terms(spec, source, children, docs, context)?,
        BoundKind::Range(spec, source) => ranges::compute_range(spec, source, children, docs, context)?,
        BoundKind::DateRange(spec, source) => ranges::compute_date_range(spec, source, children, docs, context)?,
        BoundKind::Histogram(spec, source) => histogram::compute_histogram(spec, source, children, docs, context)?,
        BoundKind::DateHistogram(spec, source) => {
            histogram::compute_date_histogram(spec, source, children, docs, context)?
        }
        BoundKind::Filter(set) => filters::compute_filter(set, children, docs, context)?,
        BoundKind::Filters(spec, sets) => filters::compute_filters(spec, sets, children, docs, context)?,
        BoundKind::Missing(source) => filters::compute_missing(source, children, docs, context)?,
        BoundKind::Global => filters::compute_global(children, context)?,
        BoundKind::Metric(spec, source) => metric::compute_metric(spec, source, docs)?,
        BoundKind::TopHits(spec, sources) => top_hits::compute_top_hits(spec, sources, docs, context)?,
    };
    let Some(meta) = &node.plan.meta else {
        return Ok(result);
    };
    let mut with_meta = Map::new();
    with_meta.insert("meta".into(), meta.clone());
    if let Value::Object(fields) = result {
        with_meta.extend(fields);
    }
    Ok(Value::Object(with_meta))
}

/// Returns one bucket: the `head` fields (key, from, to...), `doc_count`, then the
/// sub-aggregations (`computed` when ordering already needed them).
pub fn render_bucket(
    mut head: Map<String, Value>,
    docs: &[DocRef],
    computed: Option<Map<String, Value>>,
    children: &[BoundNode<'_>],
    context: &Context<'_>,
) -> Result<Map<String, Value>> {
    head.insert("doc_count".into(), Value::from(docs.len()));
    let sub = match computed {
        Some(sub) => sub,
        None => compute_children(children, docs, context)?,
    };
    head.extend(sub);
    Ok(head)
}

/// A bucket before ordering and truncation.
pub struct PendingBucket {
    pub key: Key,
    pub docs: Vec<DocRef>,
    /// Sub-aggregation results, computed early when the order reads them.
    pub sub: Option<Map<String, Value>>,
}

/// Returns true when `order` reads sub-aggregation values.
pub fn order_needs_sub_results(order: &[BucketOrder]) -> bool {
    order
        .iter()
        .any(|criterion| matches!(criterion.target, OrderTarget::Path(_)))
}

/// Sorts buckets by `order`; missing sub-aggregation values sort last either way.
pub fn sort_buckets(buckets: &mut [PendingBucket], order: &[BucketOrder]) {
    buckets.sort_by(|left, right| {
        for criterion in order {
            let ordering = match &criterion.target {
                OrderTarget::Count => left.docs.len().cmp(&right.docs.len()),
                OrderTarget::Key => left.key.cmp(&right.key),
                OrderTarget::Path(path) => {
                    let value_of = |bucket: &PendingBucket| bucket.sub.as_ref().and_then(|sub| order_value(sub, path));
                    match (value_of(left), value_of(right)) {
                        (Some(left_value), Some(right_value)) => left_value.total_cmp(&right_value),
                        (Some(_), None) => return Ordering::Less,
                        (None, Some(_)) => return Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    }
                }
            };
            let directed = if criterion.ascending {
                ordering
            } else {
                ordering.reverse()
            };
            if directed != Ordering::Equal {
                return directed;
            }
        }
        Ordering::Equal
    });
}

/// Reads the value an order path points at in a bucket's sub-aggregation results:
/// `agg` (a metric's `value`, or a single-bucket's `doc_count`), `agg.metric`
/// (`stats.max`, `percentiles.50`) or `single_bucket>agg`.
pub fn order_value(sub: &Map<String, Value>, path: &str) -> Option<f64> {
    let mut steps: Vec<&str> = path.split('>').collect();
    let last = steps.pop()?;
    let mut current = sub;
    for step in steps {
        current = current.get(step)?.as_object()?;
    }
    let (name, metric_opt) = match last.split_once('.') {
        Some((name, metric)) => (name, Some(metric)),
        None => (last, None),
    };
    let aggregation = current.get(name)?.as_object()?;
    let value = match metric_opt {
        None => aggregation.get("value").or_else(|| aggregation.get("doc_count"))?,
        Some(metric) => aggregation.get(metric).or_else(|| {
            let values = aggregation.get("values")?.as_object()?;
            values
                .get(metric)
                .or_else(|| values.get(&java_double(metric.parse().ok()?)))
        })?,
    };
    value.as_f64().filter(|number| !number.is_nan())
}

/// Checks that every order path names a sub-aggregation, as ES does.
fn check_order_paths(node: &AggregationNode, order: &[BucketOrder]) -> Result<()> {
    for criterion in order {
        let OrderTarget::Path(path) = &criterion.target else {
            continue;
        };
        let first = path.split(['>', '.']).next().unwrap_or(path);
        if !node.children.iter().any(|child| child.name == first) {
            return Err(Error::illegal_argument(format!(
                "Invalid aggregation order path [{path}]. The provided aggregation [{first}] either does not exist, or is a pipeline aggregation and cannot be used to sort the buckets."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bucket(key: i64, count: usize, sub: Value) -> PendingBucket {
        let doc = DocRef {
            target: 0,
            segment: 0,
            doc: 0,
            score: 1.0,
        };
        PendingBucket {
            key: Key::Int(key),
            docs: vec![doc; count],
            sub: sub.as_object().cloned(),
        }
    }

    fn keys(buckets: &[PendingBucket]) -> Vec<Key> {
        buckets.iter().map(|bucket| bucket.key.clone()).collect()
    }

    #[test]
    fn count_desc_then_key_asc() {
        let order = vec![
            BucketOrder {
                target: OrderTarget::Count,
                ascending: false,
            },
            BucketOrder {
                target: OrderTarget::Key,
                ascending: true,
            },
        ];
        let mut buckets = vec![
            bucket(3, 1, json!({})),
            bucket(2, 2, json!({})),
            bucket(1, 1, json!({})),
        ];
        sort_buckets(&mut buckets, &order);
        assert_eq!(keys(&buckets), vec![Key::Int(2), Key::Int(1), Key::Int(3)]);
    }

    #[test]
    fn sub_aggregation_order_puts_missing_values_last() {
        let order = vec![BucketOrder {
            target: OrderTarget::Path("avg".into()),
            ascending: false,
        }];
        let mut buckets = vec![
            bucket(1, 1, json!({"avg": {"value": null}})),
            bucket(2, 1, json!({"avg": {"value": 3.0}})),
            bucket(3, 1, json!({"avg": {"value": 7.0}})),
        ];
        sort_buckets(&mut buckets, &order);
        assert_eq!(keys(&buckets), vec![Key::Int(3), Key::Int(2), Key::Int(1)]);
    }

    #[test]
    fn order_paths_resolve_metrics_and_single_buckets() {
        let sub = json!({
            "stats": {"count": 2, "max": 9.0},
            "p": {"values": {"50.0": 4.5}},
            "cheap": {"doc_count": 3, "avg": {"value": 1.5}}
        });
        let sub = sub.as_object().unwrap();
        assert_eq!(order_value(sub, "stats.max"), Some(9.0));
        assert_eq!(order_value(sub, "p.50"), Some(4.5));
        assert_eq!(order_value(sub, "cheap"), Some(3.0));
        assert_eq!(order_value(sub, "cheap>avg"), Some(1.5));
        assert_eq!(order_value(sub, "nope"), None);
    }
}
