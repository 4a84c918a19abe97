PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench bench-probot install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/devex-bot demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

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
