#!/usr/bin/env bash
# A short fuzzing smoke run of every target (default 30 s each). Needs cargo-fuzz
# (`cargo install cargo-fuzz --locked`); RUSTC_BOOTSTRAP lets the stable toolchain take the sanitizer
# flags cargo fuzz passes. Crashes land in fuzz/artifacts/TARGET/ and are reproduced with
# `cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-…`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
export RUSTC_BOOTSTRAP=1
for target in wire_message sync_step ingest_envelopes trust_objects change_ops sealed_parts; do
  echo "=== $target (${seconds}s) ==="
  cargo fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096
done
