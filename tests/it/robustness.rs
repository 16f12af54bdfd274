//! No client mistake may produce a 500 or a body that is not ES-shaped: arbitrary JSON is
//! thrown at every body-taking endpoint.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::TestApp;

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |float| float.is_finite())
            .prop_map(Value::from),
        "[a-z_.*]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("query".to_string()),
                    Just("match".to_string()),
                    Just("bool".to_string()),
                    Just("must".to_string()),
                    Just("term".to_string()),
                    Just("range".to_string()),
                    Just("caption".to_string()),
                    Just("price".to_string()),
                    Just("size".to_string()),
                    Just("sort".to_string()),
                    Just("from".to_string()),
                    Just("properties".to_string()),
                    Just("type".to_string()),
                    Just("doc".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

const TARGETS: &[(&str, &str)] = &[
    ("POST", "/photos/_search"),
    ("POST", "/photos/_count"),
    ("PUT", "/photos/_mapping"),
    ("PUT", "/photos/_settings"),
    ("PUT", "/photos/_doc/1"),
    ("POST", "/photos/_update/1"),
    ("POST", "/_mget"),
    ("POST", "/_aliases"),
    ("PUT", "/fresh"),
    ("POST", "/photos/_delete_by_query"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_cause_server_errors(body in arbitrary_json(), target in 0..TARGETS.len()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let app = TestApp::new();
            app.call("PUT", "/photos", Some(json!({"mappings": {"properties": {"caption": {"type": "text"}, "price": {"type": "long"}}}}))).await;
            app.call("PUT", "/photos/_doc/1?refresh=true", Some(json!({"caption": "red cat", "price": 3}))).await;
            let (method, path) = TARGETS[target];
            let response = app.call(method, path, Some(body.clone())).await;
            prop_assert!(response.status.as_u16() < 500, "{method} {path} {body} -> {} {}", response.status, response.text);
            if response.status.as_u16() >= 400 && response.status.as_u16() != 404 {
                prop_assert!(response.json["error"]["type"].is_string(), "not ES-shaped: {}", response.text);
                prop_assert!(response.json["error"]["root_cause"].is_array(), "no root_cause: {}", response.text);
            }
            Ok(())
        })?;
    }
}
