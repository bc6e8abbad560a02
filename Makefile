# Every target sets up .venv on first use, so a fresh clone needs only `make check` or `make test`.
# make check: the designs against their expected verdicts, the queries and proofs, the report.
# make test: the fast tier of the tests; make test-all: every test (what .ci/run runs), including the
# tools against each other on every cell (BFS against Z3, Spin against our engine), which make check
# ran before.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLUSTER_STAMP := $(VENV)/.installed-cluster

.PHONY: check test test-all dumps report bench lint format clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Ray (the --cluster engine) only for the full tier and the bench: the fast tier does not use it
$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,cluster]'
	touch $(CLUSTER_STAMP)

# The report is written even when a query answers unexpectedly (the answer is what a reader needs);
# the target still fails then.
check: $(STAMP)
	$(BIN)/python -m explorer matrix --report out/report.md --html out/report/index.html
	$(BIN)/python -m explorer queries; status=$$?; $(BIN)/python -m explorer report && exit $$status

dumps: $(STAMP)
	$(BIN)/python -m explorer matrix --report out/report.md --html out/report/index.html

report: $(STAMP)
	$(BIN)/python -m explorer matrix
	$(BIN)/python -m explorer queries; status=$$?; $(BIN)/python -m explorer report && exit $$status

# two pytest workers (pytest-xdist), a test file's tests on one worker: module fixtures run once
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadfile

test-all: $(CLUSTER_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

bench: $(CLUSTER_STAMP)
	$(BIN)/python bench/bench.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
