//! The HTTP surface: every route in one table, and the layers every request goes through.
//!
//! The table is also exported as [`ROUTES`], which a test compares with
//! `api-spec/openapi.yaml`, so the spec cannot drift from what is served.

pub mod extract;
pub mod filter_path;
pub mod handlers;
pub mod middleware;
pub mod response;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::response::Response;

use self::handlers::{bulk, cat, cluster, document, indices, ingest, ml, search, search_pipeline};
use self::response::string_error;
use crate::AppState;

/// One served route: HTTP method, path template, ES API name.
pub type RouteSpec = (&'static str, &'static str, &'static str);

macro_rules! es_routes {
    ($( $method:ident $path:literal => $handler:path, $api:literal; )*) => {
        /// Every route Iris serves: (method, path template, ES API name).
        pub const ROUTES: &[RouteSpec] = &[ $( (stringify!($method), $path, $api) ),* ];

        fn add_routes(router: Router<AppState>) -> Router<AppState> {
            router $( .route($path, axum::routing::$method($handler)) )*
        }
    };
}

es_routes! {
    get "/" => cluster::info, "info";
    head "/" => cluster::info_head, "ping";
    get "/_cluster/health" => cluster::health, "cluster.health";
    get "/_cluster/health/{index}" => cluster::health, "cluster.health";
    get "/_nodes" => cluster::nodes, "nodes.info";
    get "/_nodes/{node_id}" => cluster::nodes, "nodes.info";
    get "/_nodes/{node_id}/{metric}" => cluster::nodes, "nodes.info";
    get "/_template" => cluster::templates, "indices.get_template";
    get "/_template/{name}" => cluster::template_by_name, "indices.get_template";
    get "/_index_template" => cluster::index_templates, "indices.get_index_template";
    get "/_index_template/{name}" => cluster::index_template_by_name, "indices.get_index_template";
    get "/_component_template" => cluster::component_templates, "cluster.get_component_template";
    get "/_component_template/{name}" => cluster::component_template_by_name, "cluster.get_component_template";
    get "/_data_stream" => cluster::data_streams, "indices.get_data_stream";
    get "/_data_stream/{name}" => cluster::data_stream_by_name, "indices.get_data_stream";
    put "/_ingest/pipeline/{id}" => ingest::put_pipeline, "ingest.put_pipeline";
    get "/_ingest/pipeline" => ingest::get_pipelines, "ingest.get_pipeline";
    get "/_ingest/pipeline/{id}" => ingest::get_pipelines, "ingest.get_pipeline";
    delete "/_ingest/pipeline/{id}" => ingest::delete_pipeline, "ingest.delete_pipeline";
    post "/_ingest/pipeline/_simulate" => ingest::simulate, "ingest.simulate";
    get "/_ingest/pipeline/_simulate" => ingest::simulate, "ingest.simulate";
    post "/_ingest/pipeline/{id}/_simulate" => ingest::simulate, "ingest.simulate";
    get "/_ingest/pipeline/{id}/_simulate" => ingest::simulate, "ingest.simulate";
    get "/_ml/trained_models" => ml::trained_models, "ml.get_trained_models";
    get "/_ml/trained_models/{model_id}" => ml::trained_models, "ml.get_trained_models";
    get "/_plugins/_ml/models/{model_id}" => ml::opensearch_model, "ml.get_model";
    put "/_search/pipeline/{id}" => search_pipeline::put, "search_pipeline.put";
    get "/_search/pipeline" => search_pipeline::get, "search_pipeline.get";
    get "/_search/pipeline/{id}" => search_pipeline::get, "search_pipeline.get";
    delete "/_search/pipeline/{id}" => search_pipeline::delete, "search_pipeline.delete";

    put "/{index}" => indices::create, "indices.create";
    get "/{index}" => indices::get, "indices.get";
    head "/{index}" => indices::exists, "indices.exists";
    delete "/{index}" => indices::delete, "indices.delete";
    get "/_mapping" => indices::get_mapping, "indices.get_mapping";
    get "/{index}/_mapping" => indices::get_mapping, "indices.get_mapping";
    put "/{index}/_mapping" => indices::put_mapping, "indices.put_mapping";
    post "/{index}/_mapping" => indices::put_mapping, "indices.put_mapping";
    get "/_settings" => indices::get_settings, "indices.get_settings";
    get "/{index}/_settings" => indices::get_settings, "indices.get_settings";
    get "/{index}/_settings/{name}" => indices::get_settings, "indices.get_settings";
    put "/{index}/_settings" => indices::put_settings, "indices.put_settings";
    post "/_refresh" => indices::refresh, "indices.refresh";
    get "/_refresh" => indices::refresh, "indices.refresh";
    post "/{index}/_refresh" => indices::refresh, "indices.refresh";
    get "/{index}/_refresh" => indices::refresh, "indices.refresh";
    post "/_flush" => indices::flush, "indices.flush";
    get "/_flush" => indices::flush, "indices.flush";
    post "/{index}/_flush" => indices::flush, "indices.flush";
    get "/{index}/_flush" => indices::flush, "indices.flush";
    get "/_stats" => indices::stats, "indices.stats";
    get "/_stats/{metric}" => indices::stats, "indices.stats";
    get "/{index}/_stats" => indices::stats, "indices.stats";
    get "/{index}/_stats/{metric}" => indices::stats, "indices.stats";
    post "/_aliases" => indices::update_aliases, "indices.update_aliases";
    get "/_aliases" => indices::get_aliases, "indices.get_alias";
    get "/{index}/_aliases" => indices::get_aliases, "indices.get_alias";
    get "/_alias" => indices::get_alias, "indices.get_alias";
    get "/_alias/{name}" => indices::get_alias, "indices.get_alias";
    head "/_alias/{name}" => indices::alias_exists, "indices.exists_alias";
    get "/{index}/_alias" => indices::get_alias, "indices.get_alias";
    get "/{index}/_alias/{name}" => indices::get_alias, "indices.get_alias";
    head "/{index}/_alias/{name}" => indices::alias_exists, "indices.exists_alias";
    put "/{index}/_alias/{name}" => indices::put_alias, "indices.put_alias";
    post "/{index}/_alias/{name}" => indices::put_alias, "indices.put_alias";
    delete "/{index}/_alias/{name}" => indices::delete_alias, "indices.delete_alias";
    put "/{index}/_aliases/{name}" => indices::put_alias, "indices.put_alias";
    post "/{index}/_aliases/{name}" => indices::put_alias, "indices.put_alias";
    delete "/{index}/_aliases/{name}" => indices::delete_alias, "indices.delete_alias";
    get "/_cat/indices" => cat::indices, "cat.indices";
    get "/_cat/indices/{index}" => cat::indices, "cat.indices";
    get "/_cat/health" => cat::health, "cat.health";
    get "/_cat/count" => cat::count, "cat.count";
    get "/_cat/count/{index}" => cat::count, "cat.count";
    get "/_cat/aliases" => cat::aliases, "cat.aliases";

    post "/{index}/_doc" => document::index_auto_id, "index";
    put "/{index}/_doc/{id}" => document::index, "index";
    post "/{index}/_doc/{id}" => document::index, "index";
    get "/{index}/_doc/{id}" => document::get, "get";
    head "/{index}/_doc/{id}" => document::exists, "exists";
    delete "/{index}/_doc/{id}" => document::delete, "delete";
    put "/{index}/_create/{id}" => document::create, "create";
    post "/{index}/_create/{id}" => document::create, "create";
    get "/{index}/_source/{id}" => document::get_source, "get_source";
    head "/{index}/_source/{id}" => document::source_exists, "exists_source";
    post "/{index}/_update/{id}" => document::update, "update";
    get "/_mget" => document::mget, "mget";
    post "/_mget" => document::mget, "mget";
    get "/{index}/_mget" => document::mget, "mget";
    post "/{index}/_mget" => document::mget, "mget";
    post "/_bulk" => bulk::bulk, "bulk";
    put "/_bulk" => bulk::bulk, "bulk";
    post "/{index}/_bulk" => bulk::bulk, "bulk";
    put "/{index}/_bulk" => bulk::bulk, "bulk";

    get "/_search" => search::search, "search";
    post "/_search" => search::search, "search";
    get "/{index}/_search" => search::search, "search";
    post "/{index}/_search" => search::search, "search";
    get "/_count" => search::count, "count";
    post "/_count" => search::count, "count";
    get "/{index}/_count" => search::count, "count";
    post "/{index}/_count" => search::count, "count";
    get "/_msearch" => search::msearch, "msearch";
    post "/_msearch" => search::msearch, "msearch";
    get "/{index}/_msearch" => search::msearch, "msearch";
    post "/{index}/_msearch" => search::msearch, "msearch";
    post "/{index}/_delete_by_query" => search::delete_by_query, "delete_by_query";
    post "/{index}/_update_by_query" => search::update_by_query, "update_by_query";
    get "/{index}/_explain/{id}" => search::explain, "explain";
    post "/{index}/_explain/{id}" => search::explain, "explain";
}

/// Builds the router with every ES endpoint Iris serves.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.config().max_content_length_bytes).unwrap_or(usize::MAX);
    add_routes(Router::new())
        .fallback(no_handler)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(middleware::es_layer))
        .with_state(state)
}

/// ES answers unknown routes with a string error naming the uri and method.
async fn no_handler(method: Method, uri: axum::http::Uri) -> Response {
    string_error(
        StatusCode::BAD_REQUEST,
        format!("no handler found for uri [{uri}] and method [{method}]"),
    )
}
