#!/usr/bin/env bash
# Runs every test of Iris: unit tests, HTTP-level tests (including the crash test
# against a real server process).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets 2>&1
