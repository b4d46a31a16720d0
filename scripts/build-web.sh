#!/usr/bin/env bash
# Builds the admin web app (web/ → web/dist, served by the server at /admin): generates the
# API client from the server's own OpenAPI document (`<vartalaap binary> openapi`), type-checks
# and bundles. Node and web/node_modules come from `WITH_WEB=1 scripts/setup.sh`.
# Usage: scripts/build-web.sh PATH/TO/vartalaap
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: scripts/build-web.sh PATH/TO/vartalaap}"
VARTALAAP_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export VARTALAAP_BIN
cd web
npm run --silent build
