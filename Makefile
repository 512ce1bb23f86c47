# The two README commands: `make run` and `make test` (see ../shared/CONTRACTS.md §1).
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BOOT   := $(shell command -v python3.11 || command -v python3)
PORT   ?= 8501

.PHONY: setup run test test-fast fetch-test-data index eval bench clean

$(PYTHON):
	$(BOOT) -m venv $(VENV)

# torch is pinned and installed first so that pip takes the CPU build from local disk.
$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

index: setup
	$(VENV)/bin/assistant index

# `make run PORT=8600` serves on another port.
run: index
	$(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

# The shelf tests need a real PDF nobody here wrote: tests/fetch_debian_pdf.sh takes it from
# Debian's gutenprint-doc package into tests/.data/ (once; it does nothing when it is there).
# A failed fetch does not stop the run: the tests that need the PDF fail and say how to fetch it.
fetch-test-data:
	-bash tests/fetch_debian_pdf.sh

test: index fetch-test-data
	$(PYTHON) -m pytest

# Tests that need no embedding model and no index (pytest -m fast): seconds, not minutes.
test-fast: setup
	$(PYTHON) -m pytest -m fast -q

eval: index
	$(VENV)/bin/assistant eval --report --write

bench: index
	$(PYTHON) eval/bench.py

clean:
	rm -rf $(VENV) index/*.json index/*.jsonl index/*.faiss index/*.npy index/bm25 index/documents
