//! The validated, ES-spelling-free form of a search: the query tree and the request
//! options, resolved once from the wire types.

pub mod ast;
pub mod hit_options;
pub mod request;
pub mod retriever;
pub mod script;

pub use ast::{Fuzziness, MinimumShouldMatch, Operator, QueryAst};
pub use request::{SearchRequest, SortField, SortOrder, TrackTotalHits};
