#!/usr/bin/env bash
# The GPU check of docs/gpu.md, runnable from a checkout without installing srbench.
#
#   scripts/gpu_check.sh --pack          here, after `make data`: fill gpu_carry/ (git-ignored, ~12 MiB) with Set5,
#                                        the released weights and the pure-Python dependencies (tqdm, yaml)
#   scripts/gpu_check.sh [ARGS]          on the GPU machine, from the repository root, with its own Python
#                                        (python3 or $PYTHON; torch, numpy and Pillow preinstalled), at most 5 minutes
#   scripts/gpu_check.sh --cpu           the same plumbing on this machine's CPU (tiny sizes; proves nothing about GPUs)
#
# ARGS go to scripts/gpu_check.py (--help lists them); results are printed and written to $OUT/gpu_check.json
# (or gpu_check.json). `import srbench` works through a temporary folder of symbolic links that mirrors the package
# layout of pyproject.toml (srbench = bench/, srbench.core = core/, srbench.models = models/, srbench.data = data/).
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY="${GPU_CHECK_CARRY:-gpu_carry}"

if [ "${1:-}" = "--pack" ]; then
    STORE="${SRBENCH_STORE:-data/store}"
    rm -rf "$CARRY" && mkdir -p "$CARRY/store/benchmark" "$CARRY/store/weights" "$CARRY/vendor"
    cp -r "$STORE/benchmark/Set5" "$CARRY/store/benchmark/"
    for w in carn_m ecdn ecdn_m carn; do
        [ -f "$STORE/weights/$w.pth" ] && cp "$STORE/weights/$w.pth" "$CARRY/store/weights/"
    done
    SITE="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    cp -r "$SITE/tqdm" "$SITE/yaml" "$CARRY/vendor/"   # yaml runs without its C extension on another Python
    find "$CARRY/vendor" -name '*.so' -delete
    find "$CARRY/vendor" -depth -name __pycache__ -exec rm -rf {} +
    du -sh "$CARRY"
    exit 0
fi

SHIM="$(mktemp -d)"
trap 'rm -rf "$SHIM"' EXIT
mkdir "$SHIM/srbench"
for entry in bench/*; do ln -s "$PWD/$entry" "$SHIM/srbench/"; done
for sub in core models data; do ln -s "$PWD/$sub" "$SHIM/srbench/$sub"; done
export PYTHONPATH="$SHIM${PYTHONPATH:+:$PYTHONPATH}"
[ -d "$CARRY/store" ] && export SRBENCH_STORE="$PWD/$CARRY/store"
PY="${PYTHON:-python3}"
if [ "${1:-}" = "--cpu" ] && [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
set +e  # keep the exit status of the check, and let the trap remove the shim
timeout 300 "$PY" scripts/gpu_check.py --vendor "$PWD/$CARRY/vendor" --out "${OUT:-.}/gpu_check.json" "$@"
exit $?
