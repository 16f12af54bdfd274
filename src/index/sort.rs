//! Field sorting of search hits: the sort values ES returns in `hits.hits[].sort`, read from
//! doc-value columns, the order of candidates under a `sort`, and `search_after`.

use std::cmp::Ordering;

use serde_json::{Value, json};
use tantivy::query::{EnableScoring, Query};
use tantivy::{DocAddress, DocId, Searcher, SegmentReader};

use super::IndexHandle;
use super::columns::{
    DocValueColumn as SortColumn, column_name, open_column as open_sort_column, text_fielddata_error,
};
use super::mapping::FieldType;
use super::search::{Candidate, shortest_f64};
use crate::error::Result;
use crate::query::{SearchRequest, SortField, SortOrder};

/// A sort value as ES returns it in `hits.hits[].sort`.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    I64(i64),
    F64(f64),
    Str(String),
    Missing,
}

impl SortValue {
    pub(super) fn to_json(&self, order: SortOrder) -> Value {
        match self {
            SortValue::I64(number) => json!(number),
            SortValue::F64(number) => json!(number),
            SortValue::Str(text) => json!(text),
            SortValue::Missing => match order {
                SortOrder::Asc => json!(i64::MAX),
                SortOrder::Desc => json!(i64::MIN),
            },
        }
    }

    fn compare(&self, other: &SortValue, missing_first: bool) -> Ordering {
        match (self, other) {
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            (SortValue::Missing, _) => {
                if missing_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (_, SortValue::Missing) => {
                if missing_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (SortValue::I64(left), SortValue::I64(right)) => left.cmp(right),
            (SortValue::F64(left), SortValue::F64(right)) => left.total_cmp(right),
            (SortValue::I64(left), SortValue::F64(right)) => (*left as f64).total_cmp(right),
            (SortValue::F64(left), SortValue::I64(right)) => left.total_cmp(&(*right as f64)),
            (SortValue::Str(left), SortValue::Str(right)) => left.cmp(right),
            (SortValue::Str(_), _) => Ordering::Greater,
            (_, SortValue::Str(_)) => Ordering::Less,
        }
    }
}

fn read_sort_value(column: &SortColumn, doc: DocId, order: SortOrder) -> SortValue {
    // ES sorts multi-valued fields by their min (asc) or max (desc) by default.
    let pick_last = order == SortOrder::Desc;
    match column {
        SortColumn::I64(column) => {
            pick(column.values_for_doc(doc), pick_last).map_or(SortValue::Missing, SortValue::I64)
        }
        SortColumn::F64(column) => {
            pick(column.values_for_doc(doc), pick_last).map_or(SortValue::Missing, SortValue::F64)
        }
        SortColumn::Date(column) => pick(column.values_for_doc(doc), pick_last)
            .map_or(SortValue::Missing, |date| SortValue::I64(date.into_timestamp_millis())),
        SortColumn::Bool(column) => pick(column.values_for_doc(doc), pick_last)
            .map_or(SortValue::Missing, |flag| SortValue::I64(i64::from(flag))),
        SortColumn::Str(column) => {
            let ords: Vec<u64> = column.term_ords(doc).collect();
            let chosen = if pick_last { ords.last() } else { ords.first() };
            match chosen {
                Some(ord) => {
                    let mut text = String::new();
                    match column.ord_to_str(*ord, &mut text) {
                        Ok(_) => SortValue::Str(text),
                        Err(_) => SortValue::Missing,
                    }
                }
                None => SortValue::Missing,
            }
        }
        SortColumn::Absent => SortValue::Missing,
    }
}

fn pick<T: PartialOrd>(values: impl Iterator<Item = T>, last: bool) -> Option<T> {
    values.fold(None, |best, value| match best {
        None => Some(value),
        Some(current) => {
            let better = if last { value > current } else { value < current };
            Some(if better { value } else { current })
        }
    })
}

fn sort_columns(
    handle: &IndexHandle,
    sort: &[SortField],
    segment: &SegmentReader,
) -> Result<Vec<Option<(SortColumn, SortOrder)>>> {
    let state = handle.state();
    sort.iter()
        .map(|key| match key {
            SortField::Field { field, order, .. } => {
                let Some(def) = state.mapping.field(field) else {
                    return Ok(Some((SortColumn::Absent, *order)));
                };
                if let FieldType::Text { .. } = def.field_type {
                    return Err(text_fielddata_error(field));
                }
                let column = open_sort_column(segment, &column_name(def), &def.field_type);
                Ok(Some((column, *order)))
            }
            _ => Ok(None),
        })
        .collect()
}

pub(super) fn collect_all(
    handle: &IndexHandle,
    searcher: &Searcher,
    query: &dyn Query,
    request: &SearchRequest,
    index_position: usize,
) -> Result<Vec<Candidate>> {
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let weight = query.weight(scoring)?;
    let mut candidates = Vec::new();
    for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
        let columns = sort_columns(handle, &request.sort, segment)?;
        let alive = segment.alive_bitset().cloned();
        let mut failure = None;
        weight
            .for_each(segment, &mut |doc, score| {
                if alive.as_ref().is_some_and(|bits| !bits.is_alive(doc)) {
                    return;
                }
                if request.terminate_after.is_some_and(|limit| candidates.len() >= limit) {
                    return;
                }
                if request.min_score.is_some_and(|minimum| score < minimum) {
                    return;
                }
                let sort_values = request
                    .sort
                    .iter()
                    .zip(columns.iter())
                    .map(|(key, column)| match (key, column) {
                        (SortField::Score(_), _) => SortValue::F64(shortest_f64(score)),
                        (SortField::Doc(_), _) => SortValue::I64(i64::from(doc) + ((segment_ord as i64) << 32)),
                        (_, Some((column, order))) => read_sort_value(column, doc, *order),
                        (_, None) => SortValue::Missing,
                    })
                    .collect();
                candidates.push(Candidate {
                    index_position,
                    address: DocAddress::new(segment_ord as u32, doc),
                    score,
                    sort_values,
                });
            })
            .map_err(|error| failure = Some(error))
            .ok();
        if let Some(error) = failure {
            return Err(error.into());
        }
    }
    Ok(candidates)
}

pub(super) fn compare_candidates(sort: &[SortField], left: &Candidate, right: &Candidate) -> Ordering {
    if sort.is_empty() {
        return right
            .score
            .total_cmp(&left.score)
            .then(left.index_position.cmp(&right.index_position))
            .then(left.address.cmp(&right.address));
    }
    for (position, key) in sort.iter().enumerate() {
        let (order, missing_first) = match key {
            SortField::Score(order) | SortField::Doc(order) => (*order, false),
            SortField::Field {
                order, missing_first, ..
            } => (*order, *missing_first),
        };
        let mut ordering = left.sort_values[position].compare(&right.sort_values[position], missing_first);
        let both_present =
            left.sort_values[position] != SortValue::Missing && right.sort_values[position] != SortValue::Missing;
        if order == SortOrder::Desc && both_present {
            ordering = ordering.reverse();
        }
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    left.index_position
        .cmp(&right.index_position)
        .then(left.address.cmp(&right.address))
}

pub(super) fn after_search_after(sort: &[SortField], candidate: &Candidate, after: &[Value]) -> bool {
    for (position, key) in sort.iter().enumerate() {
        let Some(marker) = after.get(position) else {
            return true;
        };
        let marker_value = match marker {
            Value::Number(number) => number
                .as_i64()
                .map(SortValue::I64)
                .unwrap_or_else(|| SortValue::F64(number.as_f64().unwrap_or(0.0))),
            Value::String(text) => SortValue::Str(text.clone()),
            _ => SortValue::Missing,
        };
        let (order, missing_first) = match key {
            SortField::Score(order) | SortField::Doc(order) => (*order, false),
            SortField::Field {
                order, missing_first, ..
            } => (*order, *missing_first),
        };
        let mut ordering = candidate.sort_values[position].compare(&marker_value, missing_first);
        if order == SortOrder::Desc {
            ordering = ordering.reverse();
        }
        match ordering {
            Ordering::Greater => return true,
            Ordering::Less => return false,
            Ordering::Equal => continue,
        }
    }
    false
}
