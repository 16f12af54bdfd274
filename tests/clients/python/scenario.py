"""Client scenario shared by the Python clients (elasticsearch 8.x/9.x, opensearch-py).

Each step talks to Iris only through an adapter (run_elasticsearch.py, run_opensearch.py) that
calls the real client the way its users do. Every expected value is computed here from the
generated documents, never copied from a server answer.
"""

import datetime as dt
import random
import sys

import numpy as np

import hybrid

INDEX = "photos"
N_DOCS = 5000

MAPPINGS = {
    "properties": {
        "caption": {"type": "text"},
        "tags": {"type": "keyword"},
        "price": {"type": "double"},
        "taken": {"type": "date"},
    }
}

COLORS = ["red", "green", "blue", "yellow", "black", "white"]
ANIMALS = ["cat", "dog", "horse", "bird", "fox", "owl", "bear"]
PLACES = ["sofa", "beach", "forest", "street", "garden", "roof"]
TAGS = ["outdoor", "indoor", "animal", "night", "portrait", "landscape", "bw"]

# The filtered search of search_bool_sorted_paged().
WORD = "cat"
TAG = "outdoor"
PRICE_GTE, PRICE_LT = 20.0, 900.0
TAKEN_GTE, TAKEN_LT = "2020-07-01", "2023-01-01"


# The kNN step, vector_search(): a separate index of seeded random vectors and a keyword `color`.
VECTOR_INDEX = "vectors"
N_VECTORS = 2000
DIMS = 32
VECTOR_SCALE = 0.15
KNN_K = 10
NUM_CANDIDATES = 200  # large against 2,000 vectors: the answers are expected to be exact
SCORE_TOLERANCE = 1e-4
MIN_RECALL = 0.9  # asserted; any recall below 1.0 is printed


def generate_docs(n=N_DOCS, seed=42):
    """Deterministic documents; prices are distinct so that a price sort has no ties."""
    rng = random.Random(seed)
    cents = rng.sample(range(100, 100_000), n)
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    docs = {}
    for i in range(n):
        taken = start + dt.timedelta(seconds=rng.randrange(4 * 365 * 86400))
        docs[f"img-{i}"] = {
            # Plain lowercase words: the standard analyzer's tokens are caption.split().
            "caption": f"a {rng.choice(COLORS)} {rng.choice(ANIMALS)} on the {rng.choice(PLACES)}",
            "tags": rng.sample(TAGS, rng.randint(1, 3)),
            "price": cents[i] / 100,
            "taken": taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    return docs


def parse_date(text):
    """ISO date or date-time; a bare date means midnight UTC, as in ES."""
    d = dt.datetime.fromisoformat(text)
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


def has_word(doc, word):
    return word in doc["caption"].split()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def check_eq(actual, expected, what):
    check(actual == expected, f"{what}: got {actual!r}, expected {expected!r}")


def total(resp):
    return resp["hits"]["total"]["value"]


def ids(resp):
    return [h["_id"] for h in resp["hits"]["hits"]]


class VectorData:
    """Seeded random vectors, their colors and the query vectors, all float32 as the servers store them."""

    def __init__(self, seed=7):
        rng = np.random.RandomState(seed)
        # Scaled so that l2 scores spread over about (0.3, 0.7), where SCORE_TOLERANCE is tight.
        self.vectors = (VECTOR_SCALE * rng.standard_normal((N_VECTORS, DIMS))).astype(np.float32)
        self.colors = np.array(COLORS)[rng.randint(len(COLORS), size=N_VECTORS)]
        self.ids = [f"vec-{i}" for i in range(N_VECTORS)]
        self.index_of = {doc_id: i for i, doc_id in enumerate(self.ids)}
        self.queries = (VECTOR_SCALE * rng.standard_normal((3, DIMS))).astype(np.float32)

    def scores(self, metric, query):
        """`_score` of every vector for `query`, in float64 over the stored float32 values.

        cosine: ES `(1 + cos) / 2`; l2: ES `l2_norm` and OpenSearch `l2`, `1 / (1 + squared distance)`.
        """
        x, q = self.vectors.astype(np.float64), query.astype(np.float64)
        if metric == "cosine":
            return (1 + x @ q / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))) / 2
        if metric == "l2":
            return 1 / (1 + ((x - q) ** 2).sum(axis=1))
        raise ValueError(metric)

    def exact(self, scores, k, pre_color=None, post_color=None):
        """Exact top-k (best first) among the vectors of `pre_color` (all if None), then only those of
        `post_color`: the post-filter of a bool query around a knn query."""
        candidates = np.arange(N_VECTORS) if pre_color is None else np.flatnonzero(self.colors == pre_color)
        top = candidates[np.argsort(-scores[candidates], kind="stable")][:k]
        if post_color is not None:
            top = top[self.colors[top] == post_color]
        return [self.ids[i] for i in top]


class Scenario:
    def __init__(self, api):
        self.api = api
        self.docs = generate_docs()
        self.vec = VectorData()

    # Steps, in order. Each one is small so a failure names what broke.

    def connect(self):
        info = self.api.info()
        check("number" in info["version"], f"GET / has version.number: {info}")

    def create_index(self):
        resp = self.api.create_index(INDEX, MAPPINGS)
        check_eq(resp["acknowledged"], True, "create index acknowledged")
        got = self.api.get_mapping(INDEX)[INDEX]["mappings"]["properties"]
        for field, spec in MAPPINGS["properties"].items():
            check_eq(got[field]["type"], spec["type"], f"mapping type of {field}")

    def bulk_load(self):
        actions = ({"_index": INDEX, "_id": doc_id, "_source": doc} for doc_id, doc in self.docs.items())
        ok, errors = self.api.bulk(actions)  # the helper raises on item errors
        check_eq((ok, errors), (len(self.docs), []), "bulk helper result")
        self.api.refresh(INDEX)
        check_eq(self.api.count(INDEX)["count"], len(self.docs), "count after bulk")

    def search_match(self):
        expected = {i for i, d in self.docs.items() if has_word(d, WORD)}
        resp = self.api.search(INDEX, {"query": {"match": {"caption": WORD}}, "size": len(expected) + 10})
        check_eq(total(resp), len(expected), f"match {WORD!r} total")
        check_eq(set(ids(resp)), expected, f"match {WORD!r} ids")

    def expected_filtered(self):
        lo, hi = parse_date(TAKEN_GTE), parse_date(TAKEN_LT)
        hits = [
            (d["price"], i) for i, d in self.docs.items()
            if has_word(d, WORD) and TAG in d["tags"] and PRICE_GTE <= d["price"] < PRICE_LT
            and lo <= parse_date(d["taken"]) < hi
        ]
        return [i for _, i in sorted(hits)]

    def search_bool_sorted_paged(self):
        expected = self.expected_filtered()
        check(len(expected) > 40, f"generated data gives enough filtered hits ({len(expected)})")
        query = {"bool": {
            "must": [{"match": {"caption": WORD}}],
            "filter": [
                {"term": {"tags": TAG}},
                {"range": {"price": {"gte": PRICE_GTE, "lt": PRICE_LT}}},
                {"range": {"taken": {"gte": TAKEN_GTE, "lt": TAKEN_LT}}},
            ],
        }}
        page_size, seen = 17, []  # odd size so the last page is partial
        for start in range(0, len(expected) + page_size, page_size):
            resp = self.api.search(INDEX, {"query": query, "sort": [{"price": "asc"}],
                                           "from": start, "size": page_size})
            check_eq(total(resp), len(expected), f"bool total (from={start})")
            page = resp["hits"]["hits"]
            check_eq([h["sort"][0] for h in page], [self.docs[i]["price"] for i in ids(resp)],
                     f"sort values are the prices (from={start})")
            seen += ids(resp)
        check_eq(seen, expected, "bool hits sorted by price, paged")

    def document_crud(self):
        doc_id = "img-7"
        got = self.api.get(INDEX, doc_id)
        check_eq((got["found"], got["_source"]), (True, self.docs[doc_id]), "get")

        new_price = self.docs[doc_id]["price"] + 1000
        resp = self.api.update(INDEX, doc_id, {"price": new_price})
        check_eq(resp["result"], "updated", "update result")
        check_eq(self.api.get(INDEX, doc_id)["_source"], {**self.docs[doc_id], "price": new_price},
                 "source after update")

        resp = self.api.delete(INDEX, "img-8")
        check_eq(resp["result"], "deleted", "delete result")
        try:
            self.api.get(INDEX, "img-8")
            check(False, "get of a deleted document raises NotFoundError")
        except self.api.NotFound as e:
            check_eq(self.api.status(e), 404, "deleted doc status")

        self.api.refresh(INDEX)
        check_eq(self.api.count(INDEX)["count"], len(self.docs) - 1, "count after delete")
        # Both changes are visible to a filtered count too.
        alive = {i: d for i, d in self.docs.items() if i != "img-8"}
        alive[doc_id] = {**alive[doc_id], "price": new_price}
        expected = sum(1 for d in alive.values() if TAG in d["tags"] and d["price"] >= 900)
        resp = self.api.count(INDEX, {"bool": {"filter": [{"term": {"tags": TAG}},
                                                          {"range": {"price": {"gte": 900}}}]}})
        check_eq(resp["count"], expected, "filtered count")

    def errors(self):
        api = self.api
        self.expect_error(api.NotFound, 404, "index_not_found_exception",
                          lambda: api.get("no-such-index", "1"), "get on a missing index")
        self.expect_error(api.NotFound, 404, None,
                          lambda: api.get(INDEX, "no-such-id"), "get of a missing doc")
        self.expect_error(api.BadRequest, 400, "parsing_exception",
                          lambda: api.search(INDEX, {"query": {"no_such_query": {}}}), "unknown query")
        self.expect_error(api.BadRequest, 400, "mapper_parsing_exception",
                          lambda: api.create_index("bad-mapping", {"properties": {"x": {"type": "no_such_type"}}}),
                          "unknown field type")
        self.expect_error(api.Conflict, 409, "version_conflict_engine_exception",
                          lambda: api.create_doc(INDEX, "img-1", {"caption": "dup"}), "create an existing id")

    def expect_error(self, cls, status, err_type, call, what):
        try:
            call()
        except cls as e:
            check_eq(self.api.status(e), status, f"{what}: status")
            body = self.api.body(e)
            if err_type is None:  # a missing doc answers {"found": false}, not an error object
                check_eq(body.get("found"), False, f"{what}: body")
            else:
                check_eq(body["error"]["type"], err_type, f"{what}: error type")
            return
        raise AssertionError(f"{what}: no {cls.__name__} raised")

    def aggregations(self):
        """terms on tags + avg on price."""
        body = {"size": 0, "aggs": {"by_tag": {"terms": {"field": "tags", "size": len(TAGS)}},
                                    "avg_price": {"avg": {"field": "price"}}}}
        self.check_aggregation_values(self.api.search(INDEX, body))

    def check_aggregation_values(self, resp):
        """Expected buckets and average, from the documents after document_crud()."""
        alive = {i: d for i, d in self.docs.items() if i != "img-8"}
        alive["img-7"] = {**alive["img-7"], "price": self.docs["img-7"]["price"] + 1000}
        counts = {}
        for d in alive.values():
            for t in d["tags"]:
                counts[t] = counts.get(t, 0) + 1
        buckets = {b["key"]: b["doc_count"] for b in resp["aggregations"]["by_tag"]["buckets"]}
        check_eq(buckets, counts, "terms buckets")
        got = [b["doc_count"] for b in resp["aggregations"]["by_tag"]["buckets"]]
        check_eq(got, sorted(got, reverse=True), "terms buckets ordered by doc_count")
        avg = sum(d["price"] for d in alive.values()) / len(alive)
        check(abs(resp["aggregations"]["avg_price"]["value"] - avg) < 1e-6,
              f"avg price: got {resp['aggregations']['avg_price']['value']}, expected {avg}")

    # kNN: ES `dense_vector` + top-level `knn` and `knn` query, or OpenSearch `knn_vector` + `knn`
    # query, as the adapter's DIALECT says. Expected neighbours and scores come from numpy.

    def vector_search(self):
        vec = self.vec
        if self.api.DIALECT == "es":
            mappings = {"properties": {
                # hnsw: float vectors only; int8_hnsw + rescore_vector: quantized search, exact
                # float rescoring of the hits, so ES scores are exact for both.
                "vec_cos": {"type": "dense_vector", "dims": DIMS, "similarity": "cosine",
                            "index_options": {"type": "hnsw"}},
                "vec_l2": {"type": "dense_vector", "dims": DIMS, "similarity": "l2_norm",
                           "index_options": {"type": "int8_hnsw", "rescore_vector": {"oversample": 3.0}}},
                "color": {"type": "keyword"},
            }}
            settings, fields = None, {"vec_cos": "cosine", "vec_l2": "l2"}
        else:
            mappings = {"properties": {
                "vec": {"type": "knn_vector", "dimension": DIMS,
                        "method": {"name": "hnsw", "space_type": "l2", "engine": "faiss"}},
                "color": {"type": "keyword"},
            }}
            settings, fields = {"index": {"knn": True}}, {"vec": "l2"}

        check_eq(self.api.create_index(VECTOR_INDEX, mappings, settings)["acknowledged"], True,
                 "create vector index acknowledged")
        got = self.api.get_mapping(VECTOR_INDEX)[VECTOR_INDEX]["mappings"]["properties"]
        for field, spec in mappings["properties"].items():
            for key in ("type", "dims", "dimension", "similarity"):
                if key in spec:
                    check_eq(got[field].get(key), spec[key], f"mapping {key} of {field}")

        actions = ({"_index": VECTOR_INDEX, "_id": doc_id,
                    "_source": {**{f: vec.vectors[i].tolist() for f in fields}, "color": str(vec.colors[i])}}
                   for i, doc_id in enumerate(vec.ids))
        ok, errors = self.api.bulk(actions)
        check_eq((ok, errors), (N_VECTORS, []), "vector bulk helper result")
        self.api.refresh(VECTOR_INDEX)
        check_eq(self.api.count(VECTOR_INDEX)["count"], N_VECTORS, "count after vector bulk")

        recalls = []
        for qi, query in enumerate(vec.queries):
            color = COLORS[qi % len(COLORS)]
            for field, metric in fields.items():
                scores = vec.scores(metric, query)
                for what, body, expected in self.knn_cases(field, query, scores, color):
                    what = f"{what} [{field}, query {qi}]"
                    resp = self.api.search(VECTOR_INDEX, body)
                    recalls.append(self.check_knn(what, resp, expected, scores))
        print(f"       {len(recalls)} kNN searches, recall min {min(recalls):.3f} mean {np.mean(recalls):.3f}")

    def knn_cases(self, field, query, scores, color):
        """(what, request body, (expected ids best first, expected total or None, color filter)) per search;
        `scores` are the exact scores of every vector for `query`."""
        vec, q, k = self.vec, query.tolist(), KNN_K
        if self.api.DIALECT != "es":
            plain = vec.exact(scores, k)
            filtered = vec.exact(scores, k, pre_color=color)
            return [
                ("knn query", {"size": k, "query": {"knn": {field: {"vector": q, "k": k}}}},
                 (plain, None, None)),
                ("knn query with filter",
                 {"size": k, "query": {"knn": {field: {"vector": q, "k": k, "filter": {"term": {"color": color}}}}}},
                 (filtered, None, color)),
            ]
        knn = {"field": field, "query_vector": q, "k": k, "num_candidates": NUM_CANDIDATES}
        term = {"term": {"color": color}}
        # A bool filter around a knn query is a post-filter on its k neighbours (ES docs, knn query).
        wide = 5 * k
        post = vec.exact(scores, wide, post_color=color)
        check(len(post) >= 3, f"generated data gives enough post-filtered neighbours ({len(post)})")
        return [
            ("top-level knn", {"knn": knn}, (vec.exact(scores, k), k, None)),
            ("top-level knn with filter", {"knn": {**knn, "filter": term}},
             (vec.exact(scores, k, pre_color=color), k, color)),
            ("knn query in bool.must with filter",
             {"query": {"bool": {"must": [{"knn": {**knn, "filter": term}}]}}, "size": k},
             (vec.exact(scores, k, pre_color=color), k, color)),
            ("knn query in bool.must, bool.filter",
             {"query": {"bool": {"must": [{"knn": {**knn, "k": wide}}], "filter": [term]}}, "size": wide},
             (post, len(post), color)),
        ]

    def check_knn(self, what, resp, expected, scores):
        """Hits against the exact answer; returns the recall."""
        expected_ids, expected_total, color = expected
        got = ids(resp)
        if expected_total is None:  # OpenSearch: k neighbours per shard *and segment*, `size` of them returned
            check(total(resp) >= len(got), f"{what}: total {total(resp)} below the {len(got)} hits")
        else:
            check_eq(total(resp), expected_total, f"{what}: total")
        check_eq(len(got), len(expected_ids), f"{what}: number of hits")
        idx = [self.vec.index_of[i] for i in got]
        if color is not None:
            check_eq({str(self.vec.colors[i]) for i in idx} - {color}, set(), f"{what}: colors outside the filter")
        for hit, i in zip(resp["hits"]["hits"], idx):
            check(abs(hit["_score"] - scores[i]) <= SCORE_TOLERANCE,
                  f"{what}: _score of {hit['_id']}: got {hit['_score']}, expected {scores[i]:.7f}")
        recall = len(set(got) & set(expected_ids)) / len(expected_ids)
        if recall < 1:
            print(f"       {what}: recall {recall:.3f}; missing {sorted(set(expected_ids) - set(got))}, "
                  f"extra {sorted(set(got) - set(expected_ids))}")
        check(recall >= MIN_RECALL, f"{what}: recall {recall:.3f} < {MIN_RECALL}")
        # Best first (ties within float32 rounding may come in either order).
        returned = [h["_score"] for h in resp["hits"]["hits"]]
        check(returned == sorted(returned, reverse=True), f"{what}: hits not sorted by _score: {returned}")
        exact = [scores[i] for i in idx]
        check(all(a >= b - 1e-6 for a, b in zip(exact, exact[1:])),
              f"{what}: hits not best first by exact score: {list(zip(got, exact))}")
        return recall

    def hybrid_search(self):
        """Photos embedded by the real models; fused searches checked against their parts (hybrid.py)."""
        hybrid.run(self.api)

    def run(self):
        steps = [self.connect, self.create_index, self.bulk_load, self.search_match,
                 self.search_bool_sorted_paged, self.document_crud, self.errors, self.aggregations,
                 self.vector_search, self.hybrid_search]
        failed = 0
        for step in steps:
            try:
                step()
                print(f"  ok   {step.__name__}")
            except Exception as e:  # report every step, not just the first failure
                failed += 1
                print(f"  FAIL {step.__name__}: {type(e).__name__}: {e}")
        return failed


def main(api):
    failed = Scenario(api).run()
    sys.exit(1 if failed else 0)
