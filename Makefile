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

.PHONY: demo test test-all qat-env models bench clean help

help:
	@echo "make demo      set up .venv, then run the whole system on the synthetic set"
	@echo "make test      set up .venv, then run the fast tests"
	@echo "make test-all  the fast and the slow tests"
	@echo "make qat-env   the separate environment for quantization-aware training"
	@echo "make bench     the speed benchmarks (ratios measured in one run)"

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
