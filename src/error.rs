//! The one error type of Iris and the one table that maps each error kind to the
//! Elasticsearch exception type and HTTP status a client expects.
//!
//! Every failure a client can cause is an [`Error`] with a kind from [`ErrorKind`];
//! `api::error` renders it as the ES envelope
//! `{"error":{"root_cause":[..],"type","reason",..},"status":N}`.

use serde_json::{Map, Value};

/// What went wrong, in Elasticsearch's vocabulary. The table in [`ErrorKind::es_type`] and
/// [`ErrorKind::status`] is exhaustive on purpose: a new kind must be given both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    IndexNotFound,
    ResourceAlreadyExists,
    InvalidIndexName,
    Parsing,
    Parse,
    ElasticsearchParse,
    NamedObjectNotFound,
    AliasesNotFound,
    XContentParse,
    IllegalArgument,
    IllegalState,
    MapperParsing,
    DocumentParsing,
    StrictDynamicMapping,
    DocumentMissing,
    VersionConflict,
    ActionRequestValidation,
    SearchPhaseExecution,
    QueryShard,
    ResourceNotFound,
    ContentTooLong,
    NotAcceptableContentType,
    MediaTypeHeader,
    Status,
    Internal,
}

impl ErrorKind {
    /// Returns the ES exception type name for this kind.
    pub fn es_type(self) -> &'static str {
        match self {
            ErrorKind::IndexNotFound => "index_not_found_exception",
            ErrorKind::ResourceAlreadyExists => "resource_already_exists_exception",
            ErrorKind::InvalidIndexName => "invalid_index_name_exception",
            ErrorKind::Parsing => "parsing_exception",
            ErrorKind::Parse => "parse_exception",
            ErrorKind::ElasticsearchParse => "parse_exception",
            ErrorKind::NamedObjectNotFound => "named_object_not_found_exception",
            ErrorKind::AliasesNotFound => "aliases_not_found_exception",
            ErrorKind::XContentParse => "x_content_parse_exception",
            ErrorKind::IllegalArgument => "illegal_argument_exception",
            ErrorKind::IllegalState => "illegal_state_exception",
            ErrorKind::MapperParsing => "mapper_parsing_exception",
            ErrorKind::DocumentParsing => "document_parsing_exception",
            ErrorKind::StrictDynamicMapping => "strict_dynamic_mapping_exception",
            ErrorKind::DocumentMissing => "document_missing_exception",
            ErrorKind::VersionConflict => "version_conflict_engine_exception",
            ErrorKind::ActionRequestValidation => "action_request_validation_exception",
            ErrorKind::SearchPhaseExecution => "search_phase_execution_exception",
            ErrorKind::QueryShard => "query_shard_exception",
            ErrorKind::ResourceNotFound => "resource_not_found_exception",
            ErrorKind::ContentTooLong => "content_too_long_exception",
            ErrorKind::NotAcceptableContentType => "not_acceptable",
            ErrorKind::MediaTypeHeader => "media_type_header_exception",
            ErrorKind::Status => "status_exception",
            ErrorKind::Internal => "exception",
        }
    }

    /// Returns true for exceptions that are `ElasticsearchException`s in ES. ES reports the
    /// innermost of those as `root_cause`; plain Java exceptions (illegal argument, x-content
    /// parsing, Lucene's query parser) never become the root cause of a wrapping error.
    pub fn is_es_exception(self) -> bool {
        match self {
            ErrorKind::IllegalArgument
            | ErrorKind::IllegalState
            | ErrorKind::XContentParse
            | ErrorKind::NamedObjectNotFound
            | ErrorKind::Parse
            | ErrorKind::Internal => false,
            ErrorKind::IndexNotFound
            | ErrorKind::ResourceAlreadyExists
            | ErrorKind::InvalidIndexName
            | ErrorKind::Parsing
            | ErrorKind::ElasticsearchParse
            | ErrorKind::AliasesNotFound
            | ErrorKind::MapperParsing
            | ErrorKind::DocumentParsing
            | ErrorKind::StrictDynamicMapping
            | ErrorKind::DocumentMissing
            | ErrorKind::VersionConflict
            | ErrorKind::ActionRequestValidation
            | ErrorKind::SearchPhaseExecution
            | ErrorKind::QueryShard
            | ErrorKind::ResourceNotFound
            | ErrorKind::ContentTooLong
            | ErrorKind::NotAcceptableContentType
            | ErrorKind::MediaTypeHeader
            | ErrorKind::Status => true,
        }
    }

    /// Returns the HTTP status ES answers with for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::IndexNotFound => 404,
            ErrorKind::ResourceAlreadyExists => 400,
            ErrorKind::InvalidIndexName => 400,
            ErrorKind::Parsing => 400,
            ErrorKind::Parse => 400,
            ErrorKind::ElasticsearchParse => 400,
            ErrorKind::NamedObjectNotFound => 400,
            ErrorKind::AliasesNotFound => 404,
            ErrorKind::XContentParse => 400,
            ErrorKind::IllegalArgument => 400,
            ErrorKind::IllegalState => 500,
            ErrorKind::MapperParsing => 400,
            ErrorKind::DocumentParsing => 400,
            ErrorKind::StrictDynamicMapping => 400,
            ErrorKind::DocumentMissing => 404,
            ErrorKind::VersionConflict => 409,
            ErrorKind::ActionRequestValidation => 400,
            ErrorKind::SearchPhaseExecution => 400,
            ErrorKind::QueryShard => 400,
            ErrorKind::ResourceNotFound => 404,
            ErrorKind::ContentTooLong => 413,
            ErrorKind::NotAcceptableContentType => 406,
            ErrorKind::MediaTypeHeader => 400,
            ErrorKind::Status => 400,
            ErrorKind::Internal => 500,
        }
    }
}

/// An Elasticsearch-shaped failure: kind, reason, extra metadata keys flattened into the
/// error object (`index`, `resource.id`, ...) and an optional cause.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub reason: String,
    pub metadata: Map<String, Value>,
    pub caused_by: Option<Box<Error>>,
    /// Overrides the HTTP status of the kind (ES reuses some types with several statuses).
    pub status_override: Option<u16>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.es_type(), self.reason)
    }
}

impl std::error::Error for Error {}

impl From<crate::embed::EmbedError> for Error {
    fn from(error: crate::embed::EmbedError) -> Error {
        use crate::embed::EmbedError;
        let reason = error.to_string();
        match error {
            EmbedError::UnknownModel(_) => Error::new(ErrorKind::ResourceNotFound, reason),
            EmbedError::UnsupportedInput { .. } | EmbedError::BadImage(_) => Error::illegal_argument(reason),
            // Model files or the runtime are not installed: the server cannot serve this
            // request until they are, which is not the client's fault.
            EmbedError::ModelUnavailable(_) => {
                let mut error = Error::new(ErrorKind::Status, reason);
                error.status_override = Some(503);
                error
            }
            EmbedError::Inference(_) => Error::internal(reason),
        }
    }
}

impl Error {
    /// Returns an error of `kind` with `reason`.
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Error {
        Error {
            kind,
            reason: reason.into(),
            metadata: Map::new(),
            caused_by: None,
            status_override: None,
        }
    }

    /// Adds a metadata key, flattened into the ES error object.
    pub fn with_meta(mut self, key: &str, value: impl Into<Value>) -> Error {
        self.metadata.insert(key.to_string(), value.into());
        self
    }

    /// Sets the cause; the innermost cause becomes the `root_cause`.
    pub fn caused_by(mut self, cause: Error) -> Error {
        self.caused_by = Some(Box::new(cause));
        self
    }

    /// Returns the HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.status_override.unwrap_or_else(|| self.kind.status())
    }

    pub fn index_not_found(index: &str) -> Error {
        Error::new(ErrorKind::IndexNotFound, format!("no such index [{index}]"))
            .with_meta("resource.type", "index_or_alias")
            .with_meta("resource.id", index)
            .with_meta("index_uuid", "_na_")
            .with_meta("index", index)
    }

    pub fn illegal_argument(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::IllegalArgument, reason)
    }

    pub fn parsing(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Parsing, reason)
    }

    pub fn x_content(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::XContentParse, reason)
    }

    pub fn mapper_parsing(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::MapperParsing, reason)
    }

    pub fn validation(problems: &[String]) -> Error {
        let mut reason = String::from("Validation Failed: ");
        for (position, problem) in problems.iter().enumerate() {
            reason.push_str(&format!("{}: {};", position + 1, problem));
        }
        Error::new(ErrorKind::ActionRequestValidation, reason)
    }

    pub fn internal(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, reason)
    }

    /// Wraps a query-level failure the way ES reports failed searches: a
    /// `search_phase_execution_exception` whose root cause is the shard failure.
    pub fn search_phase(cause: Error, index: &str) -> Error {
        let status = cause.status();
        let shard_failure = serde_json::json!({
            "shard": 0,
            "index": index,
            "node": crate::cluster::NODE_ID,
            "reason": cause.to_body_object(),
        });
        let mut error = Error::new(ErrorKind::SearchPhaseExecution, "all shards failed")
            .with_meta("phase", "query")
            .with_meta("grouped", true)
            .with_meta("failed_shards", Value::Array(vec![shard_failure]))
            .caused_by(cause);
        error.status_override = Some(status);
        error
    }

    /// Returns this error as the inner ES object: `type`, `reason`, metadata, `caused_by`.
    pub fn to_body_object(&self) -> Value {
        let mut object = Map::new();
        object.insert("type".into(), Value::from(self.kind.es_type()));
        object.insert("reason".into(), Value::from(self.reason.clone()));
        for (key, value) in &self.metadata {
            object.insert(key.clone(), value.clone());
        }
        if let Some(cause) = &self.caused_by {
            object.insert("caused_by".into(), cause.to_body_object());
        }
        Value::Object(object)
    }

    /// Returns the object listed in `root_cause`: as ES's `guessRootCauses`, the innermost
    /// Elasticsearch exception of the cause chain; failed searches list their shard failures.
    pub fn root_cause_object(&self) -> Value {
        if self.kind == ErrorKind::SearchPhaseExecution
            && let Some(cause) = &self.caused_by
        {
            return cause.root_cause_object();
        }
        let mut root = self;
        while let Some(cause) = &root.caused_by {
            if !cause.kind.is_es_exception() {
                break;
            }
            root = cause;
        }
        let mut object = Map::new();
        object.insert("type".into(), Value::from(root.kind.es_type()));
        object.insert("reason".into(), Value::from(root.reason.clone()));
        for (key, value) in &root.metadata {
            object.insert(key.clone(), value.clone());
        }
        Value::Object(object)
    }

    /// Returns the full ES error envelope.
    pub fn to_envelope(&self) -> Value {
        let mut error = self.to_body_object();
        if let Value::Object(object) = &mut error {
            let mut with_root = Map::new();
            with_root.insert("root_cause".into(), Value::Array(vec![self.root_cause_object()]));
            for (key, value) in std::mem::take(object) {
                with_root.insert(key, value);
            }
            *object = with_root;
        }
        serde_json::json!({ "error": error, "status": self.status() })
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        Error::internal(format!("i/o failure: {error}"))
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(error: tantivy::TantivyError) -> Error {
        match error {
            // Raised while running a query the request described (a script's invalid score,
            // an unusable pattern): the client's mistake, not the server's.
            tantivy::TantivyError::InvalidArgument(reason) => Error::illegal_argument(reason),
            other => Error::internal(format!("index engine failure: {other}")),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::x_content(format!("failed to parse: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_not_found_has_es_envelope() {
        let envelope = Error::index_not_found("foo").to_envelope();
        assert_eq!(envelope["status"], 404);
        assert_eq!(envelope["error"]["type"], "index_not_found_exception");
        assert_eq!(envelope["error"]["reason"], "no such index [foo]");
        assert_eq!(envelope["error"]["root_cause"][0]["index"], "foo");
        assert_eq!(envelope["error"]["resource.id"], "foo");
    }

    #[test]
    fn search_phase_keeps_cause_status_and_root_cause() {
        let cause = Error::new(ErrorKind::QueryShard, "failed to create query: x");
        let error = Error::search_phase(cause, "idx");
        let envelope = error.to_envelope();
        assert_eq!(envelope["status"], 400);
        assert_eq!(envelope["error"]["type"], "search_phase_execution_exception");
        assert_eq!(envelope["error"]["root_cause"][0]["type"], "query_shard_exception");
        assert_eq!(envelope["error"]["caused_by"]["type"], "query_shard_exception");
    }

    #[test]
    fn validation_lists_problems_like_es() {
        let error = Error::validation(&["index is missing".into(), "id is missing".into()]);
        assert_eq!(error.reason, "Validation Failed: 1: index is missing;2: id is missing;");
    }
}
