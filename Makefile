# srbench — every target creates what it needs (venv, data, weights) itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SRBENCH := $(VENV)/bin/srbench
STAMP  := $(VENV)/.installed
EXPERIMENT ?= experiments/benchmark.yaml
export MLFLOW_DISABLE_TELEMETRY = true
export DO_NOT_TRACK = true
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: help venv data test test-fast lint wheel-smoke benchmark quick runtimes zoo ntire explain report report-commit ablate ui clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(STAMP): pyproject.toml constraints.txt setup.py bench/eval/_kernels.c  # the C kernels are built by the install
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv with the pinned set (constraints.txt)

data: $(STAMP)  ## fill data/store from $$SRBENCH_MIRROR (default ../shared) or the public URLs, sha256-checked
	$(SRBENCH) data

test: data  ## the whole test suite, slow tests included (what CI runs); lists the 25 slowest tests
	$(PY) -m pytest -q --durations=25

test-fast: data  ## the daily loop: the suite without the tests marked slow (a few minutes)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)  ## ruff check with the rules of pyproject.toml (CI runs it before the tests)
	$(VENV)/bin/ruff check .

wheel-smoke:  ## build the wheel, install it in a fresh venv, run data/evaluate/benchmark/report outside the checkout
	scripts/wheel_smoke.sh

benchmark: data  ## run the default benchmark, log to MLflow, write reports/local/benchmark.md
	$(SRBENCH) benchmark $(EXPERIMENT)

quick: data  ## a first look: Set5 only
	$(SRBENCH) benchmark experiments/quick.yaml

runtimes: data  ## the runtime comparison (eager, ONNX Runtime, OpenVINO) for the report's runtime table
	$(SRBENCH) benchmark experiments/runtimes.yaml

zoo: data  ## the field: every released network of the registry on the four sets beside bicubic, CARN-M, ECDN, ECDN-M (experiments/zoo.yaml; docs/field.md)
	$(SRBENCH) benchmark experiments/zoo.yaml

ntire: data  ## the NTIRE efficient-SR challenge table and score vs RLFN (experiments/ntire.yaml; docs/challenge.md)
	$(SRBENCH) benchmark experiments/ntire.yaml

explain: data  ## protocol sensitivity: every model on Set14 x4 under every knob deviation (experiments/explain.yaml)
	$(SRBENCH) explain experiments/explain.yaml --no-progress

report: $(STAMP)  ## render reports/local/ (git-ignored) from MLflow
	$(SRBENCH) report

report-commit: $(STAMP)  ## re-render the committed reports/ from MLflow (deliberate: review `git diff` after it)
	$(SRBENCH) report --out reports

ablate: data  ## run the CPU-sized ablations (group size, loss, BatchNorm mode)
	$(SRBENCH) ablate experiments/ablation_bn.yaml
	$(SRBENCH) ablate experiments/ablation_group.yaml
	$(SRBENCH) ablate experiments/ablation_loss.yaml

ui: $(STAMP)  ## MLflow UI on http://127.0.0.1:5000 against the project store
	$(SRBENCH) ui

clean:  ## remove the venv (the data store and MLflow runs are kept)
	rm -rf $(VENV)
