#!/usr/bin/env python3
"""Writes a seeded, clustered 512-d vector data set in TEXMEX format for `iris bench knn`.

The base and query vectors come from the same Gaussian mixture: ~1000 centroids, each cluster
spread along its own low-rank basis plus a little isotropic noise, every vector L2-normalised
(the shape of image embeddings: a few thousand "concepts", each a low-dimensional manifold).
Queries are fresh draws, not base vectors. The ground truth holds the exact top-100 neighbours
of each query by the chosen metric (for unit vectors cosine, dot and l2 give the same order).

    python bench/make_dataset.py --out .cache/knn-100k --n 100000 --queries 1000 --dims 512 --seed 42

Files: base.fvecs, queries.fvecs, groundtruth.ivecs (int32 ids, row order of base.fvecs).
"""

import argparse
import os
import sys

import numpy as np


def write_vecs(path, matrix, dtype):
    matrix = np.ascontiguousarray(matrix, dtype=dtype)
    rows, dims = matrix.shape
    with open(path, "wb") as out:
        block = np.empty((rows, dims + 1), dtype=np.int32)
        block[:, 0] = dims
        block[:, 1:] = matrix.view(np.int32)
        out.write(block.tobytes())


class Mixture:
    """The generating process: centroids, one low-rank basis per cluster, noise level."""

    def __init__(self, rng, dims, clusters, rank, spread, noise):
        self.dims = dims
        self.centroids = rng.standard_normal((clusters, dims), dtype=np.float32) / np.sqrt(dims)
        # Per-cluster basis (rank x dims), scaled so a member lies `spread` from its centroid.
        self.bases = rng.standard_normal((clusters, rank, dims), dtype=np.float32) * (spread / np.sqrt(rank * dims))
        # Cluster sizes are uneven, as real concepts are (Zipf-like weights).
        weights = 1.0 / np.arange(1, clusters + 1) ** 0.5
        self.weights = rng.permutation(weights / weights.sum())
        self.rank = rank
        self.noise = noise

    def sample(self, rng, count):
        cluster_ids = rng.choice(len(self.centroids), size=count, p=self.weights)
        coefficients = rng.standard_normal((count, self.rank), dtype=np.float32)
        vectors = self.centroids[cluster_ids].copy()
        vectors += np.einsum("nr,nrd->nd", coefficients, self.bases[cluster_ids], optimize=True)
        vectors += rng.standard_normal((count, self.dims), dtype=np.float32) * (self.noise / np.sqrt(self.dims))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.astype(np.float32)


def exact_top(base, queries, top, metric):
    """Exact top-`top` ids per query, best first, in blocks to bound memory."""
    result = np.empty((len(queries), top), dtype=np.int32)
    base_f64 = base.astype(np.float64)
    base_norms = (base_f64**2).sum(axis=1)
    for start in range(0, len(queries), 100):
        block = queries[start : start + 100].astype(np.float64)
        dots = block @ base_f64.T
        if metric == "l2":
            scores = -(base_norms[None, :] - 2.0 * dots)
        elif metric == "cosine":
            scores = dots / np.sqrt(base_norms)[None, :]
        else:
            scores = dots
        part = np.argpartition(-scores, top, axis=1)[:, :top]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        result[start : start + 100] = np.take_along_axis(part, order, axis=1)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--dims", type=int, default=512)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--spread", type=float, default=0.6)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--metric", choices=["cosine", "dot", "l2"], default="cosine")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    mixture = Mixture(rng, args.dims, args.clusters, args.rank, args.spread, args.noise)
    base = mixture.sample(rng, args.n)
    queries = mixture.sample(rng, args.queries)
    truth = exact_top(base, queries, min(100, args.n), args.metric)

    os.makedirs(args.out, exist_ok=True)
    write_vecs(os.path.join(args.out, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(args.out, "queries.fvecs"), queries, np.float32)
    write_vecs(os.path.join(args.out, "groundtruth.ivecs"), truth, np.int32)
    print(f"wrote {args.n} base, {args.queries} queries, top-{truth.shape[1]} ground truth to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
