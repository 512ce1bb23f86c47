# The two README commands: `make run` and `make test` (see ../shared/CONTRACTS.md §1).
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BOOT   := $(shell command -v python3.11 || command -v python3)
PORT   ?= 8501

.PHONY: setup run test index eval bench clean

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

test: index
	$(PYTHON) -m pytest

eval: index
	$(VENV)/bin/assistant eval --report --write

bench: index
	$(PYTHON) eval/bench.py

clean:
	rm -rf $(VENV) index/*.json index/*.jsonl index/*.faiss index/*.npy index/bm25 index/documents
