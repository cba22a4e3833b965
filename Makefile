# Set-up and entry points. Every target creates .venv when it is missing.
# torch is installed first, pinned, so that no other package pulls a multi-GB build.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

## The main job at demo size (6.4 min on 2 cores): simulate, dataset, surrogate, agents on truth and
## surrogate, evaluation on the truth, robustness to sensor noise -> runs/demo/report.md (resumable)
demo: $(STAMP)
	OMP_NUM_THREADS=1 $(VENV)/bin/chaoscontrol demo --out runs/demo

## The whole test suite
test: $(STAMP)
	$(PY) -m pytest tests

## Speed figures (see docs/performance.md)
bench: $(STAMP)
	$(PY) benchmarks/bench_solver.py
	$(PY) benchmarks/bench_vector.py

clean:
	rm -rf $(VENV) runs .pytest_cache
