#!/usr/bin/env bash
# Builds Iris (release) with what a fresh machine needs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
cargo build --release --locked
