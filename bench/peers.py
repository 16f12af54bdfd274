#!/usr/bin/env python3
"""Runs the peer libraries on the same TEXMEX files as `iris bench knn` and prints the same JSON lines.

Peers: faiss-cpu IndexFlatIP/IndexFlatL2 (exact), IndexHNSWFlat, IndexHNSWSQ (8-bit, trained per-dimension
ranges) and hnswlib. Build may use several threads (`--build-threads`, default: all cores); search is
measured on `--threads` threads (default 1), like Iris.

    .cache/bench-venv/bin/python bench/peers.py --base B.fvecs --queries Q.fvecs --groundtruth G.ivecs \
        --k 10 --metric cosine --m 16 --ef-construction 200 --ef-search 10,16,24,32,48,64,96,128

Each line: {"engine", "ef", "recall_at_10", "qps", "p50_us", "p99_us", "build_s", "index_bytes", "rss_bytes"}.
qps is the best of `--repeat` passes over all queries, one query per call (so it is comparable with Iris,
which answers one query at a time); p50/p99 are over every call of every pass.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        return np.zeros((0, 0), dtype=dtype)
    dims = int(raw[0])
    return raw.reshape(-1, dims + 1)[:, 1:].copy().view(dtype)


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def recall_at(found, truth, k):
    hits = 0
    for row_found, row_truth in zip(found, truth):
        hits += len(set(row_found[:k].tolist()) & set(row_truth[:k].tolist()))
    return hits / (len(truth) * k)


def measure(search_one, queries, truth, k, repeat):
    """Runs every query `repeat` times, one per call; returns recall, best qps, p50 and p99 in µs."""
    best_seconds = float("inf")
    latencies = []
    found = None
    for _ in range(repeat):
        rows = []
        started = time.perf_counter()
        for query in queries:
            before = time.perf_counter()
            rows.append(search_one(query))
            latencies.append(time.perf_counter() - before)
        best_seconds = min(best_seconds, time.perf_counter() - started)
        found = np.array(rows)
    latencies.sort()
    p50 = latencies[int(0.50 * (len(latencies) - 1))] * 1e6
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1e6
    return recall_at(found, truth, k), len(queries) / best_seconds, p50, p99


def emit(engine, ef, figures, build_s, index_bytes, k):
    recall, qps, p50, p99 = figures
    print(
        json.dumps(
            {
                "engine": engine,
                "ef": ef,
                f"recall_at_{k}": round(recall, 4),
                "qps": round(qps),
                "p50_us": round(p50),
                "p99_us": round(p99),
                "build_s": round(build_s, 2),
                "index_bytes": int(index_bytes),
                "rss_bytes": rss_bytes(),
            }
        ),
        flush=True,
    )


def faiss_size(faiss, index):
    return faiss.serialize_index(index).size


def run_faiss(args, base, queries, truth):
    import faiss

    metric = faiss.METRIC_L2 if args.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    engines = []
    if "faiss-flat" in args.engines:
        engines.append(("faiss-flat", lambda: faiss.IndexFlat(base.shape[1], metric), [0]))
    if "faiss-hnsw" in args.engines:
        engines.append(("faiss-hnsw", lambda: faiss.IndexHNSWFlat(base.shape[1], args.m, metric), args.ef_search))
    if "faiss-hnsw-sq8" in args.engines:
        engines.append(
            (
                "faiss-hnsw-sq8",
                lambda: faiss.IndexHNSWSQ(base.shape[1], faiss.ScalarQuantizer.QT_8bit, args.m, metric),
                args.ef_search,
            )
        )
    for name, make, efs in engines:
        faiss.omp_set_num_threads(args.build_threads)
        index = make()
        if hasattr(index, "hnsw"):
            index.hnsw.efConstruction = args.ef_construction
        started = time.perf_counter()
        if not index.is_trained:
            index.train(base)
        index.add(base)
        build_s = time.perf_counter() - started
        size = faiss_size(faiss, index)
        faiss.omp_set_num_threads(args.threads)
        for ef in efs:
            if hasattr(index, "hnsw"):
                index.hnsw.efSearch = ef

            def search_one(query, index=index):
                _, ids = index.search(query[None, :], args.k)
                return ids[0]

            repeat = 1 if name == "faiss-flat" else args.repeat
            emit(name, ef, measure(search_one, queries, truth, args.k, repeat), build_s, size, args.k)
        del index


def run_hnswlib(args, base, queries, truth):
    import hnswlib

    space = {"cosine": "ip", "dot": "ip", "l2": "l2"}[args.metric]
    index = hnswlib.Index(space=space, dim=base.shape[1])
    index.init_index(max_elements=len(base), M=args.m, ef_construction=args.ef_construction, random_seed=100)
    index.set_num_threads(args.build_threads)
    started = time.perf_counter()
    index.add_items(base, np.arange(len(base)))
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "hnswlib.bin")
        index.save_index(path)
        size = os.path.getsize(path)
    index.set_num_threads(args.threads)
    for ef in args.ef_search:
        index.set_ef(max(ef, args.k))

        def search_one(query):
            ids, _ = index.knn_query(query[None, :], k=args.k)
            return ids[0]

        emit("hnswlib", ef, measure(search_one, queries, truth, args.k, args.repeat), build_s, size, args.k)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--groundtruth", required=True)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--metric", choices=["cosine", "dot", "l2"], default="cosine")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", default="10,16,24,32,48,64,96,128")
    parser.add_argument("--threads", type=int, default=1, help="search threads")
    parser.add_argument("--build-threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="faiss-flat,faiss-hnsw,faiss-hnsw-sq8,hnswlib")
    args = parser.parse_args()
    args.ef_search = [int(value) for value in args.ef_search.split(",")]
    args.engines = set(args.engines.split(","))

    base = read_vecs(args.base, np.float32)
    queries = read_vecs(args.queries, np.float32)
    truth = read_vecs(args.groundtruth, np.int32)
    if args.metric == "cosine":
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    print(f"peers: {len(base)} x {base.shape[1]}, {len(queries)} queries", file=sys.stderr)

    run_faiss(args, base, queries, truth)
    if "hnswlib" in args.engines:
        run_hnswlib(args, base, queries, truth)


if __name__ == "__main__":
    main()
