#!/usr/bin/env bash
# Runs the vector benchmark end to end on one data set: Iris (no quantization and int8) and
# the peers (faiss-cpu flat / HNSW / HNSW-SQ8, hnswlib), one after the other so they do not
# compete for cores. Prints every JSON line and keeps them in $OUT.
#
#   bash bench/run_knn.sh                 # 100k x 512 clustered, M=16, efc=200, cosine
#   N=20000 QUERIES=200 bash bench/run_knn.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
QUERIES=${QUERIES:-1000}
DIMS=${DIMS:-512}
METRIC=${METRIC:-cosine}
EF=${EF:-10,16,24,32,48,64,96,128}
DATA=${DATA:-.cache/knn-${N}}
VENV=${VENV:-.cache/bench-venv}
OUT=${OUT:-.cache/knn-${N}-results.jsonl}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/requirements.txt
fi
if [ ! -f "$DATA/groundtruth.ivecs" ]; then
  "$VENV/bin/python" bench/make_dataset.py --out "$DATA" --n "$N" --queries "$QUERIES" --dims "$DIMS" \
    --metric "$METRIC" --seed 42
fi
cargo build --release --quiet

files=(--base "$DATA/base.fvecs" --queries "$DATA/queries.fvecs" --groundtruth "$DATA/groundtruth.ivecs")
common=(--k 10 --metric "$METRIC" --m 16 --ef-construction 200 --ef-search "$EF")
: > "$OUT"
for quantization in none int8; do
  ./target/release/iris bench knn "${files[@]}" "${common[@]}" --quantization "$quantization" --threads 1 | tee -a "$OUT"
done
"$VENV/bin/python" bench/peers.py "${files[@]}" "${common[@]}" --threads 1 | tee -a "$OUT"
