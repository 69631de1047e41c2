# `make run` and `make test` set up .venv/ from requirements-dev.txt on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: run test bench build clean

$(READY): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(READY)
	$(BIN)/python tools/demo.py

test: $(READY)
	$(BIN)/python -m pytest host_tests

bench: $(READY)
	$(BIN)/python tools/bench.py

build: $(READY)
	$(BIN)/python tools/build.py

clean:
	rm -rf build .pytest_cache
