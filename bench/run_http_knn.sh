#!/usr/bin/env bash
# kNN through HTTP beside the engine alone, on the same vectors and queries: loads the
# TEXMEX data set into a fresh Iris with `_bulk` (ES defaults: int8_hnsw, m 16,
# ef_construction 100), runs the `iris bench http` searches (kNN k 10, num_candidates 100), then
# `iris bench knn` with the same index settings and ef 100. Prints every JSON line.
#
#   bash bench/run_http_knn.sh            # 100k x 512 clustered (made by run_knn.sh's generator)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
DATA=${DATA:-.cache/knn-${N}}
VENV=${VENV:-.cache/bench-venv}
if [ ! -f "$DATA/groundtruth.ivecs" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r bench/requirements.txt
  fi
  "$VENV/bin/python" bench/make_dataset.py --out "$DATA" --n "$N" --queries 1000 --dims 512 --metric cosine --seed 42
fi
cargo build --release --quiet

./target/release/iris bench http --docs "$N" --vectors-base "$DATA/base.fvecs" --vectors-queries "$DATA/queries.fvecs" \
  --queries 2000 --concurrency 1,8 2>/dev/null
./target/release/iris bench knn --base "$DATA/base.fvecs" --queries "$DATA/queries.fvecs" --groundtruth "$DATA/groundtruth.ivecs" \
  --k 10 --metric cosine --m 16 --ef-construction 100 --ef-search 100 --quantization int8 --threads 1 --exact-queries 0 2>/dev/null
