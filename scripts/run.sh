#!/usr/bin/env bash
# Runs Vartalaap for real with no cloud keys: installs local voice/VAD models if missing,
# then starts the server (release build). Settings: .env or environment (see .env.example).
# Usage: scripts/run.sh [serve options], e.g. scripts/run.sh --bind 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source scripts/setup.sh
exec cargo run --release --locked -p vartalaap -- serve "$@"
