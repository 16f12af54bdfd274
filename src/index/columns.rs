//! Doc-value columns of mapped fields, shared by sorting (`search.rs`) and aggregations.
//!
//! Each mapped field with doc values lives in the JSON column `v.<path>` (or `dv.<path>`
//! for fields mapped `index: false`), see `schema.rs`. Integer types are `i64` columns,
//! floating point types `f64`, dates `DateTime`, booleans `bool` and keywords `str`.

use tantivy::SegmentReader;
use tantivy::columnar::{Column, StrColumn};

use crate::error::Error;
use crate::index::mapping::{FieldDef, FieldType};

/// The stable `_ord` key of the document at each of `addresses` in `searcher` (a document
/// without one is skipped). Each segment's key column is opened once.
pub fn document_keys(
    searcher: &tantivy::Searcher,
    addresses: impl IntoIterator<Item = tantivy::DocAddress>,
) -> Result<Vec<u64>, Error> {
    let mut columns: std::collections::HashMap<u32, Column<u64>> = std::collections::HashMap::new();
    let mut keys = Vec::new();
    for address in addresses {
        let column = match columns.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(
                searcher
                    .segment_reader(address.segment_ord)
                    .fast_fields()
                    .u64("_ord")
                    .map_err(|error| Error::internal(format!("document keys unreadable: {error}")))?,
            ),
        };
        keys.extend(column.first(address.doc_id));
    }
    Ok(keys)
}

/// The doc-value column of one field in one segment.
pub enum DocValueColumn {
    I64(Column<i64>),
    F64(Column<f64>),
    Date(Column<tantivy::DateTime>),
    Bool(Column<bool>),
    Str(StrColumn),
    /// The segment holds no value of the field.
    Absent,
}

/// Returns the name of the JSON column that holds the values of `field`.
pub fn column_name(field: &FieldDef) -> String {
    let prefix = if field.indexed { "v" } else { "dv" };
    format!("{prefix}.{}", field.path)
}

/// Opens the column `column_name` of a segment, typed after the field's mapping.
pub fn open_column(segment: &SegmentReader, column_name: &str, field_type: &FieldType) -> DocValueColumn {
    let fast = segment.fast_fields();
    let opened = match field_type {
        FieldType::Integer(_) => fast
            .column_opt::<i64>(column_name)
            .ok()
            .flatten()
            .map(DocValueColumn::I64),
        FieldType::Float(_) => fast
            .column_opt::<f64>(column_name)
            .ok()
            .flatten()
            .map(DocValueColumn::F64),
        FieldType::Date { .. } => fast
            .column_opt::<tantivy::DateTime>(column_name)
            .ok()
            .flatten()
            .map(DocValueColumn::Date),
        FieldType::Boolean => fast
            .column_opt::<bool>(column_name)
            .ok()
            .flatten()
            .map(DocValueColumn::Bool),
        FieldType::Keyword { .. } => fast.str(column_name).ok().flatten().map(DocValueColumn::Str),
        _ => None,
    };
    opened.unwrap_or(DocValueColumn::Absent)
}

/// Returns ES's error for sorting or aggregating on a `text` field.
pub fn text_fielddata_error(field: &str) -> Error {
    Error::illegal_argument(format!(
        "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
    ))
}

/// Returns ES's error for sorting or aggregating on a field mapped `doc_values: false`.
pub fn no_doc_values_error(field: &str, type_name: &str) -> Error {
    Error::illegal_argument(format!(
        "Can't load fielddata on [{field}] because fielddata is unsupported on fields of type [{type_name}]. Use doc values instead."
    ))
}
