# The two entry points of the README: `make demo` and `make test`.
# Everything installs into a local virtualenv from this project's own files.

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
# The browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
CHROMIUM ?= /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck unit coverage clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/psasync demo

test: lint typecheck unit coverage

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "chromium is missing and apt-get is not here: install chromium at $(CHROMIUM)"; exit 1; }
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

unit: $(STAMP) $(CHROMIUM)
	PSASYNC_CHROMIUM=$(CHROMIUM) $(BIN)/pytest --cov --cov-report=

# The billing rules live in psasync.domain: every branch of it must be exercised.
coverage: unit
	$(BIN)/coverage report --include='src/psasync/domain/*' --fail-under=100

clean:
	rm -rf $(VENV) .coverage .pytest_cache .mypy_cache .ruff_cache .hypothesis
