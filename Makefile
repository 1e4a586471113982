# mer-tf: `make demo` and `make test` are all the set-up a fresh machine needs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
MODELS  := $(VENV)/share/mer-tf/models
PHOTOS  := $(VENV)/share/mer-tf/photos
STAMP   := $(VENV)/.installed
QAT_VENV  := .venv-qat
QAT_STAMP := $(QAT_VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test test-all qat-env models bench check-arm64 clean help

help:
	@echo "make demo      set up .venv, then run the whole system on the synthetic set"
	@echo "make test      set up .venv, then run the fast tests"
	@echo "make test-all  the fast and the slow tests"
	@echo "make qat-env   the separate environment for quantization-aware training"
	@echo "make bench     the speed benchmarks (ratios measured in one run)"
	@echo "make check-arm64  mer-edge on emulated aarch64 (Pi 4/5 cores) vs x86 (slow; needs make demo)"

# (Re)install when the dependency pins or the package description change.
$(STAMP): setup.cfg pyproject.toml constraints.txt scripts/install_models.py
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all]"
	$(BIN)/python scripts/install_models.py --dest $(MODELS) --photos $(PHOTOS)
	@touch $(STAMP)

models: $(STAMP)

demo: $(STAMP)
	$(BIN)/mer demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The slow tests include quantization-aware training, which runs in .venv-qat.
test-all: $(STAMP) $(QAT_STAMP)
	$(BIN)/python -m pytest -m "slow or not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m edge.cli bench --help >/dev/null
	@ls benchmarks/*.py | while read f; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The aarch64 check (slow, CPU heavy; not part of `make test`): the demo's int8 model as a bundle,
# and its held-out video. ARM64_DEMO=runs/demo_small uses a smaller demo run.
ARM64_DEMO ?= runs/demo
check-arm64: $(STAMP)
	@test -f $(ARM64_DEMO)/export/export.json -a -f $(ARM64_DEMO)/edge/holdout.mp4 || $(BIN)/mer demo --out $(ARM64_DEMO)
	$(BIN)/mer-edge bundle $$($(BIN)/python -c "import json,sys; m=json.load(open('$(ARM64_DEMO)/export/export.json')); print('$(ARM64_DEMO)/export/' + m['variants']['int8']['file'])") $(ARM64_DEMO)/bundle_int8
	bash scripts/check_arm64.sh $(ARM64_DEMO)/bundle_int8.tar.gz $(ARM64_DEMO)/edge/holdout.mp4

# tensorflow-model-optimization needs tf_keras and cannot share an environment
# with mediapipe (absl-py pins): it gets its own, created on demand.
$(QAT_STAMP): setup.cfg constraints-qat.txt requirements-qat.txt
	@test -x $(QAT_VENV)/bin/python || $(PY) -m venv $(QAT_VENV)
	$(QAT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-qat.txt -r requirements-qat.txt
	$(QAT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(QAT_STAMP)

qat-env: $(QAT_STAMP)

clean:
	rm -rf $(VENV) $(QAT_VENV) build *.egg-info .pytest_cache
