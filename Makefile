PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench bench-probot install browser screenshots clean

# The browser tests (board and desk): Debian's Chromium and its driver, and axe-core from npm.
AXE_VERSION := 4.14.1
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/devex-bot demo

$(AXE):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION)

browser: $(AXE)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	  || { [ "$$CI" != true ] && echo "chromium could not be installed: the browser tests will be skipped"; }; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest -m "not slow"

screenshots: $(STAMP) browser
	$(BIN)/python -m tests.board_screenshots

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow; status=$$?; [ $$status -eq 5 ] && echo "no slow tests" && exit 0; exit $$status

bench: $(STAMP) bench-probot
	$(BIN)/python -m bench

# Probot for the comparison in the intake section; skipped (and said so) without npm.
bench-probot:
	@if command -v npm >/dev/null 2>&1; then cd bench/probot && npm install --no-audit --no-fund --silent; \
	else echo "npm not found: the bench skips the Probot comparison"; fi

clean:
	rm -rf $(VENV) devex-demo.db* exports
