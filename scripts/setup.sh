#!/usr/bin/env bash
# Fetches the models and ONNX Runtime, then builds Iris (release) with what a fresh machine
# needs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
# ONNX Runtime and the model files not in git (sha256-checked; quick when present).
bash scripts/fetch_models.sh
cargo build --release --locked
