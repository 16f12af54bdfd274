//! The fixed tantivy schema behind every index.
//!
//! tantivy schemas cannot grow, while ES mappings do. So each index gets the same schema:
//! - `_id` (raw, stored), `_ord` (the stable u64 document key, fast), `_seq_no`,
//!   `_version` (stored), `_source` and `_vectors` (stored text), `_exists` (one raw term per present
//!   field path: `exists` queries and Lucene's per-field `docCount`);
//! - `v`: one JSON field holding keyword, numeric, date and boolean values by path,
//!   indexed and columnar (sort, aggregations, ranges);
//! - `dv`: the same, columnar only, for fields mapped with `index: false`;
//! - `t0..t{TEXT_SLOTS-1}`: text fields with positions and their own field norms. Each
//!   ES `text` field is given a slot the first time it is mapped, so BM25 length
//!   normalisation is per field exactly as in Lucene. Values arrive pre-tokenized by
//!   the field's ES analyzer.

use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// How many ES `text` fields (multi-fields included) one index can hold.
pub const TEXT_SLOTS: usize = 32;

/// Field handles of the fixed schema.
#[derive(Debug, Clone)]
pub struct SchemaFields {
    pub id: Field,
    pub ord: Field,
    pub seq_no: Field,
    pub version: Field,
    pub source: Field,
    /// The document's vector values, kept apart from `_source` (see `source_filter.rs`).
    pub vectors: Field,
    pub exists: Field,
    pub values: Field,
    pub doc_values_only: Field,
    pub text_slots: Vec<Field>,
}

/// Builds the schema and returns it with its field handles.
pub fn build_schema() -> (Schema, SchemaFields) {
    let mut builder = Schema::builder();
    let id = builder.add_text_field("_id", STRING | STORED);
    let ord = builder.add_u64_field("_ord", NumericOptions::default().set_indexed().set_fast().set_stored());
    let seq_no = builder.add_u64_field("_seq_no", NumericOptions::default().set_fast().set_stored());
    let version = builder.add_u64_field("_version", NumericOptions::default().set_stored());
    // A stored text field rather than bytes: tantivy moves text in bulk but bytes one at a
    // time, and the source is most of what a hit reads. Source JSON is always valid UTF-8.
    let source = builder.add_text_field("_source", STORED);
    let vectors = builder.add_text_field("_vectors", STORED);
    let exists = builder.add_text_field("_exists", STRING);
    let keyword_indexing = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let values = builder.add_json_field(
        "v",
        JsonObjectOptions::default()
            .set_indexing_options(keyword_indexing)
            .set_fast("raw")
            .set_expand_dots_enabled(),
    );
    let doc_values_only = builder.add_json_field(
        "dv",
        JsonObjectOptions::default().set_fast("raw").set_expand_dots_enabled(),
    );
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::WithFreqsAndPositions)
        .set_fieldnorms(true);
    let text_slots = (0..TEXT_SLOTS)
        .map(|slot| {
            builder.add_text_field(
                &format!("t{slot}"),
                TextOptions::default().set_indexing_options(text_indexing.clone()),
            )
        })
        .collect();
    let schema = builder.build();
    (
        schema,
        SchemaFields {
            id,
            ord,
            seq_no,
            version,
            source,
            vectors,
            exists,
            values,
            doc_values_only,
            text_slots,
        },
    )
}

/// Returns the schema field handles of an opened index (its schema is always ours).
pub fn fields_of(schema: &Schema) -> tantivy::Result<SchemaFields> {
    let text_slots = (0..TEXT_SLOTS)
        .map(|slot| schema.get_field(&format!("t{slot}")))
        .collect::<tantivy::Result<Vec<Field>>>()?;
    Ok(SchemaFields {
        id: schema.get_field("_id")?,
        ord: schema.get_field("_ord")?,
        seq_no: schema.get_field("_seq_no")?,
        version: schema.get_field("_version")?,
        source: schema.get_field("_source")?,
        vectors: schema.get_field("_vectors")?,
        exists: schema.get_field("_exists")?,
        values: schema.get_field("v")?,
        doc_values_only: schema.get_field("dv")?,
        text_slots,
    })
}
