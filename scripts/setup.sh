#!/usr/bin/env bash
# One-shot local setup for Vartalaap's offline audio: system programs + models.
#
# - apt-installs espeak-ng when missing: it is Piper's phonemizer and the Hindi / last-resort
#   voice. The tests generate their own audio with it, so sox is not needed; WITH_SOX=1 also
#   installs sox for debugging by hand. `apt-get update` runs once, and only if something is
#   missing.
# - then runs scripts/fetch-models.sh (PyPI only) and prints the env vars to export.
#
# Safe to re-run; fast when everything is present. Needs root (or sudo) for apt-get.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

pkgs=(espeak-ng)
[ "${WITH_SOX:-0}" = 1 ] && pkgs+=(sox)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    echo "setup: installing ${missing[*]}" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "setup: system packages present (${pkgs[*]})" >&2
fi

espeak-ng --version >/dev/null

exec "$here/fetch-models.sh"
