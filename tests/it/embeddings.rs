//! Images and texts in, vectors out, through HTTP with the real built-in models (the setup
//! script fetches what is not committed): pipelines, `_simulate`, `query_vector_builder`,
//! OpenSearch `neural`, retrieval quality and parity with the Python reference.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::{TestApp, TestResponse};

const PHOTOS: &[&str] = &["astronaut", "cat", "coffee", "flower", "motorcycle", "rocket", "temple"];

fn images_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/images")
}

fn photo_base64(name: &str) -> String {
    let bytes = std::fs::read(images_folder().join(format!("{name}.jpg"))).expect("test photo");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn ids(response: &Value) -> Vec<String> {
    response["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {response}"))
        .iter()
        .map(|hit| hit["_id"].as_str().expect("id").to_string())
        .collect()
}

/// `POST _ingest/pipeline/_simulate` of `docs` through `pipeline`.
async fn simulate(app: &TestApp, pipeline: Value, docs: Value) -> TestResponse {
    app.call(
        "POST",
        "/_ingest/pipeline/_simulate",
        Some(json!({"pipeline": pipeline, "docs": docs})),
    )
    .await
}

/// A photos index whose default pipeline embeds `image` into `image_vec` (1280-d) and
/// `text_space` (384-d, MiniLM's space), then drops the image bytes.
async fn photo_index(app: &TestApp) {
    let pipeline = app
        .call(
            "PUT",
            "/_ingest/pipeline/photos",
            Some(json!({
                "description": "embed photos",
                "processors": [
                    {"inference": {"model_id": "efficientnet-lite0", "input_output": {"input_field": "image", "output_field": "image_vec"}}},
                    {"inference": {"model_id": "efficientnet-lite0-text-space", "input_output": {"input_field": "image", "output_field": "text_space"}}},
                    {"remove": {"field": "image"}}
                ]
            })),
        )
        .await;
    assert_eq!(pipeline.status, 200, "{}", pipeline.text);
    let created = app
        .call(
            "PUT",
            "/photos",
            Some(json!({
                "settings": {"index.default_pipeline": "photos"},
                "mappings": {"properties": {
                    "caption": {"type": "text"},
                    "image_vec": {"type": "dense_vector", "dims": 1280, "similarity": "cosine"},
                    "text_space": {"type": "dense_vector", "dims": 384, "similarity": "cosine"}
                }}
            })),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let mut lines = Vec::new();
    for name in PHOTOS {
        lines.push(json!({"index": {"_index": "photos", "_id": name}}));
        lines.push(json!({"caption": format!("a photo: {name}"), "image": photo_base64(name)}));
    }
    let response = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(response.json["errors"], false, "{}", response.text);
}

#[tokio::test]
async fn built_in_models_are_listed() {
    let app = TestApp::new();
    let listed = app.call("GET", "/_ml/trained_models", None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let ids: Vec<&str> = listed.json["trained_model_configs"]
        .as_array()
        .expect("configs")
        .iter()
        .map(|config| config["model_id"].as_str().expect("id"))
        .collect();
    for expected in ["efficientnet-lite0", "efficientnet-lite0-text-space", "minilm-l6-v2"] {
        assert!(ids.contains(&expected), "{ids:?}");
    }
    let one = app.call("GET", "/_ml/trained_models/minilm-l6-v2", None).await;
    assert_eq!(
        one.json["trained_model_configs"][0]["inference_config"]["text_embedding"]["embedding_size"],
        384
    );
    let missing = app.call("GET", "/_ml/trained_models/nope", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json["error"]["type"], "resource_not_found_exception");
    let opensearch = app.call("GET", "/_plugins/_ml/models/efficientnet-lite0", None).await;
    assert_eq!(opensearch.json["model_config"]["embedding_dimension"], 1280);
}

#[tokio::test]
async fn pipelines_are_stored_simulated_and_validated() {
    let app = TestApp::new();
    let body = json!({"processors": [
        {"inference": {"model_id": "minilm-l6-v2", "input_output": [{"input_field": "caption", "output_field": "caption_vec"}]}},
        {"set": {"field": "indexed_by", "value": "{{_index}}"}}
    ]});
    assert_eq!(
        app.call("PUT", "/_ingest/pipeline/p", Some(body.clone())).await.status,
        200
    );
    let got = app.call("GET", "/_ingest/pipeline/p", None).await;
    assert_eq!(got.json["p"], body);
    let simulated = app
        .call(
            "POST",
            "/_ingest/pipeline/p/_simulate",
            Some(json!({"docs": [{"_index": "i", "_id": "1", "_source": {"caption": "a cat"}}, {"_source": {"other": 1}}]})),
        )
        .await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    let vector = simulated.json["docs"][0]["doc"]["_source"]["caption_vec"]
        .as_array()
        .expect("vector");
    assert_eq!(vector.len(), 384);
    let norm: f64 = vector
        .iter()
        .map(|x| x.as_f64().expect("f").powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    assert_eq!(simulated.json["docs"][0]["doc"]["_source"]["indexed_by"], "i");
    assert_eq!(
        simulated.json["docs"][1]["error"]["reason"],
        "field [caption] not present as part of path [caption]"
    );
    // Unknown models and processors are refused when the pipeline is stored.
    let unknown_model = app
        .call(
            "PUT",
            "/_ingest/pipeline/bad",
            Some(json!({"processors": [{"text_embedding": {"model_id": "nope", "field_map": {"a": "b"}}}]})),
        )
        .await;
    assert_eq!(unknown_model.status, 404, "{}", unknown_model.text);
    assert_eq!(
        unknown_model.json["error"]["reason"],
        "Could not find trained model [nope]"
    );
    let unknown_processor = app
        .call(
            "PUT",
            "/_ingest/pipeline/bad",
            Some(json!({"processors": [{"nope": {}}]})),
        )
        .await;
    assert_eq!(unknown_processor.json["error"]["type"], "parse_exception");
    assert_eq!(unknown_processor.json["error"]["processor_type"], "nope");
    assert_eq!(app.call("DELETE", "/_ingest/pipeline/p", None).await.status, 200);
    assert_eq!(app.call("GET", "/_ingest/pipeline/p", None).await.status, 404);
    let missing = app.call("DELETE", "/_ingest/pipeline/p", None).await;
    assert_eq!(missing.json["error"]["reason"], "pipeline [p] is missing");
    // Indexing through a missing pipeline fails that document only.
    let response = app.call("PUT", "/i/_doc/1?pipeline=gone", Some(json!({"a": 1}))).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json["error"]["reason"],
        "pipeline with id [gone] does not exist"
    );
}

#[tokio::test]
async fn texts_photos_and_documents_find_the_right_photo() {
    let app = TestApp::new();
    photo_index(&app).await;
    let stored = app.call("GET", "/photos/_doc/cat", None).await;
    assert!(
        stored.json["_source"].get("image").is_none(),
        "image bytes dropped: {}",
        stored.text
    );
    // Text → photo through the ConSE bridge (ES syntax).
    for (text, expected) in [
        ("a cat", "cat"),
        ("an astronaut", "astronaut"),
        ("a cup of coffee", "coffee"),
        ("a rocket launch", "rocket"),
        ("a motorcycle", "motorcycle"),
        ("a temple", "temple"),
        ("a flower", "flower"),
    ] {
        let response = app
            .call(
                "POST",
                "/photos/_search",
                Some(json!({"knn": {"field": "text_space", "k": 3, "num_candidates": 10,
                    "query_vector_builder": {"text_embedding": {"model_id": "minilm-l6-v2", "model_text": text}}}})),
            )
            .await;
        assert_eq!(ids(&response.json)[0], expected, "{text}: {}", response.text);
    }
    // Photo → photo with the 9.4 `embedding` builder, and by lookup of an indexed document.
    for name in PHOTOS {
        let response = app
            .call(
                "POST",
                "/photos/_search",
                Some(json!({"knn": {"field": "image_vec", "k": 1, "num_candidates": 10,
                    "query_vector_builder": {"embedding": {"inference_id": "efficientnet-lite0",
                        "input": {"type": "image", "format": "base64", "value": photo_base64(name)}}}}})),
            )
            .await;
        assert_eq!(ids(&response.json), vec![name.to_string()], "{}", response.text);
        let score = response.json["hits"]["hits"][0]["_score"].as_f64().expect("score");
        assert!(score > 0.999, "an image finds itself with cosine 1: {score}");
    }
    let lookup = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"knn": {"field": "image_vec", "k": 2,
                "query_vector_builder": {"lookup": {"index": "photos", "id": "rocket", "path": "image_vec"}}}}})),
        )
        .await;
    assert_eq!(ids(&lookup.json)[0], "rocket", "{}", lookup.text);
    // OpenSearch `neural` with the text-space endpoint (text in, image-text space out).
    let neural = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"neural": {"text_space": {"query_text": "a cup of coffee", "model_id": "efficientnet-lite0-text-space", "k": 3}}}})),
        )
        .await;
    assert_eq!(ids(&neural.json)[0], "coffee", "{}", neural.text);
    // A model whose output does not fit the field: a clear 400.
    let mismatch = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"knn": {"field": "image_vec", "k": 1,
                "query_vector_builder": {"text_embedding": {"model_id": "minilm-l6-v2", "model_text": "a cat"}}}})),
        )
        .await;
    assert_eq!(mismatch.status, 400, "{}", mismatch.text);
    assert!(
        mismatch.text.contains("different number of dimensions [384]"),
        "{}",
        mismatch.text
    );
}

#[tokio::test]
async fn bad_images_fail_their_document_only() {
    let app = TestApp::new();
    photo_index(&app).await;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut truncated = std::fs::read(images_folder().join("cat.jpg")).expect("photo");
    truncated.truncate(600);
    let lines = vec![
        json!({"index": {"_index": "photos", "_id": "good"}}),
        json!({"image": photo_base64("flower")}),
        json!({"index": {"_index": "photos", "_id": "corrupt"}}),
        json!({"image": encode(&truncated)}),
        json!({"index": {"_index": "photos", "_id": "text"}}),
        json!({"image": encode(b"just some text, not an image at all")}),
        json!({"index": {"_index": "photos", "_id": "private"}}),
        json!({"image": "http://10.1.2.3/cat.jpg"}),
        json!({"index": {"_index": "photos", "_id": "file"}}),
        json!({"image": "/etc/passwd"}),
    ];
    let response = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let items = response.json["items"].as_array().expect("items");
    assert_eq!(items[0]["index"]["status"], 201, "{}", response.text);
    for (position, expected) in [
        (1, "corrupt"),
        (2, "not an image"),
        (3, "private address"),
        (4, "file_roots"),
    ] {
        let item = &items[position]["index"];
        assert_eq!(item["status"], 400, "{item}");
        let reason = item["error"]["reason"].as_str().expect("reason").to_lowercase();
        assert!(reason.contains(expected), "item {position}: {reason}");
    }
    let count = app.call("GET", "/photos/_count", None).await;
    assert_eq!(count.json["count"], PHOTOS.len() + 1);
}

/// Embeddings match the Python onnxruntime + PIL reference (`bench/embed_reference.py`).
#[tokio::test]
async fn embeddings_match_the_python_reference() {
    let reference: Value =
        serde_json::from_slice(&std::fs::read(images_folder().join("reference_vectors.json")).expect("reference file"))
            .expect("json");
    let app = TestApp::new();
    let pipeline = json!({"processors": [
        {"inference": {"model_id": "efficientnet-lite0", "input_output": {"input_field": "image", "output_field": "image_embeds"}}},
        {"inference": {"model_id": "efficientnet-lite0-text-space", "input_output": {"input_field": "image", "output_field": "text_space_embeds"}}}
    ]});
    let docs: Vec<Value> = PHOTOS
        .iter()
        .map(|name| json!({"_id": name, "_source": {"image": photo_base64(name)}}))
        .collect();
    let simulated = simulate(&app, json!(pipeline), json!(docs)).await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    let mut worst_image: f64 = 0.0;
    for (position, name) in PHOTOS.iter().enumerate() {
        let source = &simulated.json["docs"][position]["doc"]["_source"];
        for output in ["image_embeds", "text_space_embeds"] {
            let ours = source[output].as_array().expect("vector");
            let theirs = reference["images"][format!("{name}.jpg")][output]
                .as_array()
                .expect("reference vector");
            assert_eq!(ours.len(), theirs.len());
            let max_diff = ours
                .iter()
                .zip(theirs)
                .map(|(a, b)| (a.as_f64().expect("f") - b.as_f64().expect("f")).abs())
                .fold(0.0, f64::max);
            worst_image = worst_image.max(max_diff);
        }
    }
    println!("image embeddings: max |diff| to the Python reference {worst_image:.5}");
    // PIL's bicubic and the Catmull-Rom filter differ by a few grey levels at most.
    assert!(worst_image < 0.02, "max |diff| {worst_image}");
    let texts: Vec<&str> = reference["texts"]
        .as_object()
        .expect("texts")
        .keys()
        .map(String::as_str)
        .collect();
    let text_docs: Vec<Value> = texts.iter().map(|text| json!({"_source": {"t": text}})).collect();
    let simulated = simulate(&app, json!({"processors": [{"inference": {"model_id": "minilm-l6-v2", "input_output": {"input_field": "t", "output_field": "v"}}}]}), json!(text_docs)).await;
    let mut worst_text: f64 = 0.0;
    for (position, text) in texts.iter().enumerate() {
        let ours = simulated.json["docs"][position]["doc"]["_source"]["v"]
            .as_array()
            .expect("vector");
        let theirs = reference["texts"][*text].as_array().expect("reference vector");
        for (a, b) in ours.iter().zip(theirs) {
            worst_text = worst_text.max((a.as_f64().expect("f") - b.as_f64().expect("f")).abs());
        }
    }
    println!("text embeddings: max |diff| to the Python reference {worst_text:.7}");
    assert!(worst_text < 1e-4, "max |diff| {worst_text}");
}

/// Image→image precision@5 on a sprite set, through bulk indexing and kNN search.
async fn precision_at_5(set: &str) -> f64 {
    let meta: Value =
        serde_json::from_slice(&std::fs::read(images_folder().join(format!("{set}.json"))).expect("meta"))
            .expect("json");
    let sheet = image::open(images_folder().join(format!("{set}.png")))
        .expect("sprite")
        .to_luma8();
    let tile_width = meta["tile_width"].as_u64().expect("w") as u32;
    let tile_height = meta["tile_height"].as_u64().expect("h") as u32;
    let columns = meta["columns"].as_u64().expect("columns") as u32;
    // Labels are digits or "face" / "non-face": compare them as strings.
    let labels: Vec<String> = meta["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|label| label.as_str().map_or_else(|| label.to_string(), str::to_string))
        .collect();
    let app = TestApp::new();
    assert_eq!(
        app.call(
            "PUT",
            "/_ingest/pipeline/embed",
            Some(json!({"processors": [{"inference": {"model_id": "efficientnet-lite0", "input_output": {"input_field": "image", "output_field": "v"}}}, {"remove": {"field": "image"}}]})),
        )
        .await
        .status,
        200
    );
    app.call(
        "PUT",
        "/set",
        Some(json!({"settings": {"index.default_pipeline": "embed"}, "mappings": {"properties": {"v": {"type": "dense_vector", "dims": 1280, "similarity": "cosine", "index_options": {"type": "flat"}}, "label": {"type": "keyword"}}}})),
    )
    .await;
    let mut lines = Vec::new();
    for (position, label) in labels.iter().enumerate() {
        let x = (position as u32 % columns) * tile_width;
        let y = (position as u32 / columns) * tile_height;
        let tile = image::imageops::crop_imm(&sheet, x, y, tile_width, tile_height).to_image();
        let mut png = Vec::new();
        tile.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        lines.push(json!({"index": {"_index": "set", "_id": position.to_string()}}));
        lines.push(json!({"label": label, "image": base64::engine::general_purpose::STANDARD.encode(&png)}));
    }
    let response = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(
        response.json["errors"],
        false,
        "{}",
        &response.text[..response.text.len().min(2000)]
    );
    let mut hits = 0usize;
    for (position, label) in labels.iter().enumerate() {
        let response = app
            .call(
                "POST",
                "/set/_search",
                Some(
                    json!({"size": 6, "_source": ["label"], "knn": {"field": "v", "k": 6, "num_candidates": 6,
                    "query_vector_builder": {"lookup": {"index": "set", "id": position.to_string(), "path": "v"}}}}),
                ),
            )
            .await;
        let own_id = position.to_string();
        let neighbours: Vec<&str> = response.json["hits"]["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .filter(|hit| hit["_id"].as_str() != Some(own_id.as_str()))
            .take(5)
            .map(|hit| hit["_source"]["label"].as_str().expect("label"))
            .collect();
        hits += neighbours
            .iter()
            .filter(|neighbour| **neighbour == label.as_str())
            .count();
    }
    hits as f64 / (labels.len() * 5) as f64
}

#[tokio::test]
async fn image_retrieval_precision_matches_the_reference() {
    // Reference figures from `bench/embed_reference.py precision --set digits|lfw`.
    for (set, reference) in [("digits", 0.696), ("lfw", 0.994)] {
        let precision = precision_at_5(set).await;
        println!("{set}: precision@5 {precision:.3} (Python reference {reference})");
        assert!(
            (precision - reference).abs() <= 0.01,
            "{set}: {precision} vs {reference}"
        );
    }
}

/// A CLIP-shaped two-tower model (separate image and text ONNX files, CLIP preprocessing,
/// byte-level BPE tokenizer) loads through the same manifest code path as the defaults.
#[tokio::test]
async fn a_clip_shaped_two_tower_model_loads_through_its_manifest() {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/models");
    let app = TestApp::with_config(iris::config::Config {
        models: models.clone(),
        onnxruntime: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/runtime/libonnxruntime.so.1.31.1")),
        ..iris::config::Config::default()
    });
    let listed = app.call("GET", "/_ml/trained_models/clip-test", None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        listed.json["trained_model_configs"][0]["iris"]["inputs"],
        json!(["image", "text"])
    );
    let reference: Value =
        serde_json::from_slice(&std::fs::read(models.join("clip-test/reference_vectors.json")).expect("reference"))
            .expect("json");
    let pipeline = json!({"processors": [
        {"text_embedding": {"model_id": "clip-test", "field_map": {"caption": "text_vec"}}},
        {"inference": {"model_id": "clip-test", "input_output": {"input_field": "image", "output_field": "image_vec"}}},
        {"text_image_embedding": {"model_id": "clip-test", "embedding": "both_vec", "field_map": {"text": "caption", "image": "image"}}}
    ]});
    let docs = json!([{"_source": {"caption": "a photo of a cat", "image": photo_base64("cat")}}]);
    let simulated = simulate(&app, pipeline, docs).await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    let source = &simulated.json["docs"][0]["doc"]["_source"];
    let max_diff = |ours: &Value, theirs: &Value| -> f64 {
        ours.as_array()
            .expect("vector")
            .iter()
            .zip(theirs.as_array().expect("reference"))
            .map(|(a, b)| (a.as_f64().expect("f") - b.as_f64().expect("f")).abs())
            .fold(0.0, f64::max)
    };
    assert!(max_diff(&source["text_vec"], &reference["text"]["a photo of a cat"]) < 1e-4);
    assert!(max_diff(&source["image_vec"], &reference["image"]["cat.jpg"]) < 0.02);
    // Text and image together make the normalised mean of the two vectors.
    let both: Vec<f64> = source["both_vec"]
        .as_array()
        .expect("both")
        .iter()
        .map(|x| x.as_f64().expect("f"))
        .collect();
    let sum: Vec<f64> = source["text_vec"]
        .as_array()
        .expect("text")
        .iter()
        .zip(source["image_vec"].as_array().expect("image"))
        .map(|(a, b)| a.as_f64().expect("f") + b.as_f64().expect("f"))
        .collect();
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(both.iter().zip(&sum).all(|(b, s)| (b - s / norm).abs() < 1e-5));
}

/// Serves `body` as an image over HTTP on a local port, for every request.
async fn serve_image(body: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 2048];
                let _ = stream.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_by_url_and_by_allowed_path_are_embedded() {
    let photo = std::fs::read(images_folder().join("cat.jpg")).expect("photo");
    let address = serve_image(photo).await;
    let pipeline = json!({"processors": [
        {"inference": {"model_id": "efficientnet-lite0", "input_output": {"input_field": "image", "output_field": "v"}}}
    ]});
    let url = format!("http://{address}/cat.jpg");
    let file = images_folder().join("cat.jpg").display().to_string();
    let docs = json!([{"_source": {"image": url}}, {"_source": {"image": file}}]);
    // By default loopback URLs and files are refused, each document with its reason.
    let strict = TestApp::new();
    let refused = simulate(&strict, json!(pipeline), json!(docs)).await;
    assert!(
        refused.json["docs"][0]["error"]["reason"]
            .as_str()
            .expect("reason")
            .contains("allow_private"),
        "{}",
        refused.text
    );
    assert!(
        refused.json["docs"][1]["error"]["reason"]
            .as_str()
            .expect("reason")
            .contains("file_roots"),
        "{}",
        refused.text
    );
    // Allowed by configuration, both give the same vector as the base64 photo.
    let allowed = TestApp::with_config(iris::config::Config {
        image_fetch: iris::config::ImageFetchConfig {
            allow_private: vec!["127.0.0.1/32".to_string()],
            file_roots: vec![images_folder()],
            ..iris::config::ImageFetchConfig::default()
        },
        ..iris::config::Config::default()
    });
    let mut docs = docs;
    docs.as_array_mut()
        .expect("docs")
        .push(json!({"_source": {"image": photo_base64("cat")}}));
    let simulated = simulate(&allowed, json!(pipeline), json!(docs)).await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    let vector = |position: usize| simulated.json["docs"][position]["doc"]["_source"]["v"].clone();
    assert_eq!(vector(0).as_array().map(Vec::len), Some(1280), "{}", simulated.text);
    assert_eq!(vector(0), vector(2));
    assert_eq!(vector(1), vector(2));
}

#[tokio::test]
async fn oversized_images_are_refused_with_the_limit_named() {
    let app = TestApp::with_config(iris::config::Config {
        image_fetch: iris::config::ImageFetchConfig {
            max_pixels: 10_000,
            max_bytes: 60_000,
            ..iris::config::ImageFetchConfig::default()
        },
        ..iris::config::Config::default()
    });
    let big = base64::engine::general_purpose::STANDARD.encode(vec![0xFF_u8; 100_000]);
    let docs = json!([
        {"_source": {"image": photo_base64("cat")}},
        {"_source": {"image": big}}
    ]);
    let pipeline = json!({"processors": [
        {"inference": {"model_id": "efficientnet-lite0", "input_output": {"input_field": "image", "output_field": "v"}}}
    ]});
    let simulated = simulate(&app, json!(pipeline), json!(docs)).await;
    let pixels = simulated.json["docs"][0]["error"]["reason"].as_str().expect("reason");
    assert!(pixels.contains("pixels") && pixels.contains("10000"), "{pixels}");
    let bytes = simulated.json["docs"][1]["error"]["reason"].as_str().expect("reason");
    assert!(bytes.contains("60000"), "{bytes}");
}

/// The README's product recipe: BM25 on the caption, the query text against the images'
/// text-space vectors and an example photo against the image vectors, fused in one request,
/// in ES retriever syntax and in OpenSearch hybrid syntax.
#[tokio::test]
async fn the_hybrid_recipe_runs_in_both_syntaxes() {
    let app = TestApp::new();
    photo_index(&app).await;
    let retriever = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"retriever": {"rrf": {"retrievers": [
                {"standard": {"query": {"match": {"caption": "cat"}}}},
                {"knn": {"field": "text_space", "k": 5, "num_candidates": 20,
                    "query_vector_builder": {"text_embedding": {"model_id": "minilm-l6-v2", "model_text": "a cat"}}}},
                {"knn": {"field": "image_vec", "k": 5, "num_candidates": 20,
                    "query_vector_builder": {"embedding": {"inference_id": "efficientnet-lite0",
                        "input": {"type": "image", "format": "base64", "value": photo_base64("cat")}}}}}
            ]}}})),
        )
        .await;
    assert_eq!(retriever.status, 200, "{}", retriever.text);
    assert_eq!(ids(&retriever.json)[0], "cat", "{}", retriever.text);
    // First in all three lists: 3 / (60 + 1).
    let score = retriever.json["hits"]["hits"][0]["_score"].as_f64().expect("score");
    assert!((score - 3.0 / 61.0).abs() < 1e-6, "{score}");
    let pipeline = app
        .call(
            "PUT",
            "/_search/pipeline/photo-hybrid",
            Some(json!({"phase_results_processors": [{"normalization-processor": {
                "normalization": {"technique": "min_max"},
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.3, 0.3]}}
            }}]})),
        )
        .await;
    assert_eq!(pipeline.status, 200, "{}", pipeline.text);
    let hybrid = app
        .call(
            "POST",
            "/photos/_search?search_pipeline=photo-hybrid",
            Some(json!({"query": {"hybrid": {"queries": [
                {"match": {"caption": "cat"}},
                {"neural": {"text_space": {"query_text": "a cat", "model_id": "efficientnet-lite0-text-space", "k": 5}}},
                {"neural": {"image_vec": {"query_image": photo_base64("cat"), "model_id": "efficientnet-lite0", "k": 5}}}
            ]}}})),
        )
        .await;
    assert_eq!(hybrid.status, 200, "{}", hybrid.text);
    assert_eq!(ids(&hybrid.json)[0], "cat", "{}", hybrid.text);
    // Top of every sub-query: min-max gives 1.0 in each, and the weighted mean is 1.0.
    let score = hybrid.json["hits"]["hits"][0]["_score"].as_f64().expect("score");
    assert!((score - 1.0).abs() < 1e-6, "{score}");
}
