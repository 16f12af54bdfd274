"""Client scenario shared by the Python clients (elasticsearch 8.x/9.x, opensearch-py).

Each step talks to Iris only through an adapter (run_elasticsearch.py, run_opensearch.py) that
calls the real client the way its users do. Every expected value is computed here from the
generated documents, never copied from a server answer.
"""

import datetime as dt
import random
import sys

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


class Scenario:
    def __init__(self, api):
        self.api = api
        self.docs = generate_docs()

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

    def run(self):
        steps = [self.connect, self.create_index, self.bulk_load, self.search_match,
                 self.search_bool_sorted_paged, self.document_crud, self.errors, self.aggregations]
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
