"""Hybrid step of the client scenario: photos embedded at ingest by the real models, then one
request fusing BM25 on the caption, text against the images' text-space vectors and an example
photo against the image vectors.

Elasticsearch clients send `rrf` and `linear` retrievers; opensearch-py sends a `hybrid` query
through a search pipeline. Every expected fused score is computed here, from the formulas in the
Elasticsearch and OpenSearch docs, over the same sub-searches run on their own through the client.
"""

import base64
import pathlib

INDEX = "hybrid-photos"
IMAGES = pathlib.Path(__file__).resolve().parents[2] / "images"
# Captions chosen so that BM25 on "cat" matches three photos and ranks them.
PHOTOS = {
    "cat": "Chelsea the cat on a rug",
    "astronaut": "an astronaut in a white suit",
    "coffee": "a cup of coffee that no cat would drink, not even a curious cat",
    "rocket": "a rocket on the launch pad",
    "motorcycle": "a red motorcycle",
    "temple": "a temple gate guarded by a stone cat statue and a long winding stair",
    "flower": "a flower in the garden",
}
WORD, TEXT = "cat", "a cat"
EXAMPLE_PHOTO = "temple"  # the image list disagrees with the other two: the fusion has work to do
K, NUM_CANDIDATES = 5, 20
WINDOW = len(PHOTOS)  # rank_window_size: every list is fused whole
SCORE_TOLERANCE = 1e-5  # the servers fuse in float32


def photo_base64(name):
    return base64.b64encode((IMAGES / f"{name}.jpg").read_bytes()).decode("ascii")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def scores_of(resp):
    """{id: _score} of a response's hits, and the ids best first."""
    hits = resp["hits"]["hits"]
    return {h["_id"]: h["_score"] for h in hits}, [h["_id"] for h in hits]


def check_fused(what, resp, expected):
    """Hits against {id: expected score}: same documents, each score within tolerance, best first."""
    got, order = scores_of(resp)
    check(set(got) == set(expected), f"{what}: ids {sorted(got)}, expected {sorted(expected)}")
    for doc_id, score in got.items():
        check(abs(score - expected[doc_id]) <= SCORE_TOLERANCE,
              f"{what}: _score of {doc_id}: got {score}, expected {expected[doc_id]:.7f}")
    returned = [got[i] for i in order]
    check(returned == sorted(returned, reverse=True), f"{what}: hits not best first: {returned}")
    return order


def rrf(lists, rank_constant=60, weights=None):
    """Reciprocal rank fusion: Σ wᵢ / (rank_constant + rankᵢ(d)) over the lists containing d."""
    weights = weights or [1.0] * len(lists)
    fused = {}
    for weight, ids in zip(weights, lists):
        for rank, doc_id in enumerate(ids, start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (rank_constant + rank)
    return fused


def min_max(scores, floor=None):
    """(s − min) / (max − min) per list; equal scores give 1.0. OpenSearch lifts a 0 to `floor`."""
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-6:
        return {i: 1.0 for i in scores}
    out = {i: (s - lo) / (hi - lo) for i, s in scores.items()}
    return {i: (floor if floor and v == 0 else v) for i, v in out.items()} if floor else out


def weighted_sum(normalised, weights):
    """Σ wᵢ · normalisedᵢ(d); a list without d adds nothing."""
    fused = {}
    for weight, scores in zip(weights, normalised):
        for doc_id, score in scores.items():
            fused[doc_id] = fused.get(doc_id, 0.0) + weight * score
    return fused


def load_photos(api, mappings, settings, processors):
    api.put_ingest_pipeline("photos", processors)
    check(api.create_index(INDEX, mappings, {**settings, "index.default_pipeline": "photos"})["acknowledged"],
          "create photos index")
    actions = ({"_index": INDEX, "_id": name, "_source": {"caption": caption, "image": photo_base64(name)}}
               for name, caption in PHOTOS.items())
    ok, errors = api.bulk(actions)
    check((ok, errors) == (len(PHOTOS), []), f"photo bulk: {ok}, {errors}")
    api.refresh(INDEX)
    doc = api.get(INDEX, "cat")["_source"]
    check("image" not in doc and set(doc) == {"caption"},
          f"the pipeline embeds then drops the image; vectors stay out of _source: {sorted(doc)}")


def bm25_ids():
    return {i for i, caption in PHOTOS.items() if WORD in caption.split()}


def run_es(api):
    image_field = {"type": "dense_vector", "dims": 1280, "similarity": "cosine"}
    text_field = {"type": "dense_vector", "dims": 384, "similarity": "cosine"}
    load_photos(api, {"properties": {"caption": {"type": "text"}, "image_vec": image_field,
                                     "text_space": text_field}}, {}, [
        {"inference": {"model_id": "efficientnet-lite0",
                       "input_output": {"input_field": "image", "output_field": "image_vec"}}},
        {"inference": {"model_id": "efficientnet-lite0-text-space",
                       "input_output": {"input_field": "image", "output_field": "text_space"}}},
        {"remove": {"field": "image"}},
    ])
    children = [
        {"standard": {"query": {"match": {"caption": WORD}}}},
        {"knn": {"field": "text_space", "k": K, "num_candidates": NUM_CANDIDATES,
                 "query_vector_builder": {"text_embedding": {"model_id": "minilm-l6-v2", "model_text": TEXT}}}},
        {"knn": {"field": "image_vec", "k": K, "num_candidates": NUM_CANDIDATES,
                 "query_vector_builder": {"embedding": {"inference_id": "efficientnet-lite0", "input": {
                     "type": "image", "format": "base64", "value": photo_base64(EXAMPLE_PHOTO)}}}}},
    ]
    # Each child on its own, through the same client.
    parts = [scores_of(api.search(INDEX, {"retriever": child, "size": WINDOW})) for child in children]
    check(set(parts[0][1]) == bm25_ids(), f"BM25 part matches the captions with {WORD!r}: {parts[0][1]}")
    check(parts[1][1][0] == "cat", f"text {TEXT!r} ranks the cat photo first: {parts[1][1]}")
    check(parts[2][1][0] == EXAMPLE_PHOTO, f"the example photo ranks itself first: {parts[2][1]}")
    union = set().union(*(set(order) for _, order in parts))

    body = {"retriever": {"rrf": {"retrievers": children, "rank_window_size": WINDOW}}, "size": WINDOW}
    resp = api.search(INDEX, body)
    order = check_fused("rrf retriever", resp, rrf([o for _, o in parts]))
    check(order[0] == "cat", f"rrf: the cat, first in two of three lists, comes first: {order}")
    check(resp["hits"]["total"]["value"] == len(union), f"rrf total: {resp['hits']['total']}, union {len(union)}")

    page = api.search(INDEX, {**body, "from": 2, "size": 3})
    check([h["_id"] for h in page["hits"]["hits"]] == order[2:5], "rrf: from 2, size 3 pages the fused list")

    explained = api.search(INDEX, {**body, "explain": True})
    for hit in explained["hits"]["hits"]:
        explanation = hit["_explanation"]
        check(abs(explanation["value"] - hit["_score"]) <= SCORE_TOLERANCE, f"rrf explain value of {hit['_id']}")
        check(len(explanation["details"]) == len(children), f"rrf explain has one detail per retriever: {explanation}")

    weights = [2.0, 1.0, 1.0]
    linear = {"linear": {"rank_window_size": WINDOW, "retrievers": [
        {"retriever": child, "weight": weight, "normalizer": "minmax"} for child, weight in zip(children, weights)]}}
    expected = weighted_sum([min_max(scores) for scores, _ in parts], weights)
    order = check_fused("linear retriever (minmax)", api.search(INDEX, {"retriever": linear, "size": WINDOW}), expected)
    check(order[0] == "cat", f"linear: the cat comes first: {order}")


def run_opensearch(api):
    def vector(dims):
        return {"type": "knn_vector", "dimension": dims,
                "method": {"name": "hnsw", "space_type": "cosinesimil", "engine": "faiss"}}

    load_photos(api, {"properties": {"caption": {"type": "text"}, "image_vec": vector(1280),
                                     "text_space": vector(384)}}, {"index.knn": True}, [
        {"text_image_embedding": {"model_id": "efficientnet-lite0", "embedding": "image_vec",
                                  "field_map": {"image": "image"}}},
        {"text_image_embedding": {"model_id": "efficientnet-lite0-text-space", "embedding": "text_space",
                                  "field_map": {"image": "image"}}},
        {"remove": {"field": "image"}},
    ])
    queries = [
        {"match": {"caption": WORD}},
        {"neural": {"text_space": {"query_text": TEXT, "model_id": "efficientnet-lite0-text-space", "k": K}}},
        {"neural": {"image_vec": {"query_image": photo_base64(EXAMPLE_PHOTO), "model_id": "efficientnet-lite0",
                                  "k": K}}},
    ]
    parts = [scores_of(api.search(INDEX, {"query": query, "size": WINDOW})) for query in queries]
    check(set(parts[0][1]) == bm25_ids(), f"BM25 part matches the captions with {WORD!r}: {parts[0][1]}")
    check(parts[1][1][0] == "cat", f"text {TEXT!r} ranks the cat photo first: {parts[1][1]}")
    check(parts[2][1][0] == EXAMPLE_PHOTO, f"the example photo ranks itself first: {parts[2][1]}")
    body = {"query": {"hybrid": {"queries": queries}}, "size": WINDOW}

    weights = [0.4, 0.3, 0.3]
    api.put_search_pipeline("photo-hybrid", {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": weights}}}}]})
    # Weights sum to 1, so the weighted mean is the weighted sum; min_max lifts a 0 to 0.001.
    expected = weighted_sum([min_max(scores, floor=0.001) for scores, _ in parts], weights)
    order = check_fused("hybrid, min_max + arithmetic_mean", api.search(INDEX, body, search_pipeline="photo-hybrid"),
                        expected)
    check(order[0] == "cat", f"hybrid: the cat comes first: {order}")

    api.put_search_pipeline("photo-rrf", {"phase_results_processors": [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 60}}}]})
    check_fused("hybrid, score-ranker rrf", api.search(INDEX, body, search_pipeline="photo-rrf"),
                rrf([order for _, order in parts]))


def run(api):
    (run_es if api.DIALECT == "es" else run_opensearch)(api)
