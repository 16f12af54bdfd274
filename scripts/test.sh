#!/usr/bin/env bash
# Runs every test of Iris: unit tests, HTTP-level tests (including the crash test
# against a real server process).
set -euo pipefail
cd "$(dirname "$0")/.."
# ONNX Runtime and the model files not in git (sha256-checked; quick when present).
bash scripts/fetch_models.sh
cargo test --locked --all-targets 2>&1
# Real Elasticsearch/OpenSearch clients (Python 8.x/9.x, opensearch-py, Node) against the binary.
cargo build --locked 2>&1
bash tests/clients/run.sh
