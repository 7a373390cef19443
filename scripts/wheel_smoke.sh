#!/usr/bin/env bash
# The wheel outside the checkout: build it from the tracked files, install it into a fresh virtual environment the
# way `make venv` installs (the constraints file; torch from the local wheels pip's configuration provides), then,
# from an empty folder with SRBENCH_HOME in a temporary folder: srbench data, evaluate, a tiny benchmark of the
# shipped default experiment (Set5 x4, bicubic and CARN-M, eager) and report --out; and the API's evaluate, which
# must give the CLI's numbers. Run by `make wheel-smoke` (CI: .ci/run, after make test).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/srbench-wheel.XXXXXX")
[ -n "${KEEP_WHEEL_SMOKE:-}" ] || trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

say "build the wheel from the tracked files"
mkdir -p "$WORK/src" "$WORK/dist"
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$WORK/src"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$WORK/dist" "$WORK/src"
WHEEL=$(ls "$WORK"/dist/srbench-*.whl)
# the listing goes to a file first: `grep -q` closes the pipe at its first match, and under pipefail the
# writer's BrokenPipeError would fail the step
"$PYTHON" -m zipfile -l "$WHEEL" > "$WORK/wheel-files.txt"
for shipped in "srbench/experiments/benchmark.yaml" "srbench/eval/_kernels.c" "srbench/eval/_kernels\..*\.so"; do
    grep -q "$shipped" "$WORK/wheel-files.txt" || { echo "error: the wheel lacks $shipped" >&2; exit 1; }
done

say "install it into a fresh venv (constraints.txt, as make venv)"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt "$WHEEL"
SRBENCH="$WORK/venv/bin/srbench"

say "run it from an empty folder, everything under SRBENCH_HOME"
export SRBENCH_HOME="$WORK/home" SRBENCH_MIRROR="${SRBENCH_MIRROR:-$(cd "$REPO/.." && pwd)/shared}"
unset SRBENCH_STORE SRBENCH_CACHE MLFLOW_TRACKING_URI
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
mkdir "$WORK/empty" && cd "$WORK/empty"
"$SRBENCH" data
"$SRBENCH" evaluate --model carn_m --dataset Set5 --scale 4 --runtime eager --json --no-progress > evaluate.json
"$SRBENCH" benchmark --datasets Set5 --scales 4 --models bicubic carn_m --runtime eager --no-progress
"$SRBENCH" report --out "$WORK/report"

say "check what it left, and the API"
test -f "$SRBENCH_HOME/store/benchmark/Set5/HR/baby.png"
test -f "$SRBENCH_HOME/mlruns/mlflow.db"
test -f "$WORK/report/README.md" && test -f "$WORK/report/tables/paper_table.md"
grep -q "CARN-M\|carn_m" "$WORK/report/tables/paper_table.md"
"$WORK/venv/bin/python" - <<'PY'
import json
import srbench

cli = json.load(open("evaluate.json"))[0]
api = srbench.evaluate("carn_m", "Set5", 4)
assert (api.psnr, api.ssim) == (cli["psnr"], cli["ssim"]), (api.psnr, cli["psnr"])
assert srbench.complexity("carn_m", 4).params > 0
print(f"API from the wheel: carn_m Set5 x4 PSNR {api.psnr:.3f} dB = the CLI's")
PY
test "$(ls -A "$WORK/empty" | sort | tr '\n' ' ')" = "evaluate.json reports "  # nothing else written here
say "wheel smoke test passed"
