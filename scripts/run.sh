#!/usr/bin/env bash
# Runs Vartalaap for real with no cloud keys: installs local voice/VAD/speech models if missing,
# then starts the server (release build) with the offline English recogniser (Whisper tiny.en)
# built in, so phone callers are understood with no Deepgram key, and the admin web app built
# and served at http://127.0.0.1:8080/admin/ (scripts/build-web.sh).
# Settings: .env or environment (see .env.example).
# Usage: scripts/run.sh [serve options], e.g. scripts/run.sh --bind 0.0.0.0:8080
#   WITH_STT=0 scripts/run.sh   skips the Whisper build (~7-11 min the first time; docs/STT.md):
#                               callers are then understood only through Deepgram.
set -euo pipefail
cd "$(dirname "$0")/.."
export WITH_STT="${WITH_STT:-1}"
# The admin web app (web/, served at /admin) needs Node and its packages.
export WITH_WEB=1
# shellcheck source=/dev/null
source scripts/setup.sh
features=()
if [ "$WITH_STT" = 1 ]; then features=(--features vartalaap/stt-whisper); fi
cargo build --release --locked -p vartalaap "${features[@]}"
# The admin's API client is generated from this very binary's OpenAPI document.
scripts/build-web.sh "${CARGO_TARGET_DIR:-target}/release/vartalaap"
exec cargo run --release --locked -p vartalaap "${features[@]}" -- serve "$@"
