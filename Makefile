# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export JIANDU_HOME ?= $(CURDIR)/.jiandu

.PHONY: demo test test-fast bench screenshots eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import jiandu, prefect"
	touch $@

demo: $(STAMP)
	$(BIN)/python -m jiandu.demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

# The HTML edition (320/375/1024 px) and the desk (375/1024 px) in headless Chromium: PNGs in build/screenshots/.
screenshots: $(STAMP)
	$(BIN)/python -m pytest tests/test_html_browser.py tests/test_desk_browser.py -q -p no:xdist

bench: $(STAMP)
	$(BIN)/python -m bench

# The faithfulness checker on its labelled set: false alarms and catch rates (docs/faithfulness.md).
eval: $(STAMP)
	$(BIN)/python -W ignore -m jiandu.faithfulness_eval tests/fixtures/faithfulness
	@echo "-- held-out set (written after the checker was tuned; reported, not enforced):"
	$(BIN)/python -W ignore -m jiandu.faithfulness_eval --report-only tests/fixtures/faithfulness_holdout

clean:
	rm -rf $(VENV) .jiandu out
