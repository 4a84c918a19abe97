PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench install browser screenshots clean

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

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) devex-demo.db* exports
