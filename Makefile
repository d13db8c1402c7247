# Two entry points: `make run` (set up, build the index on first run, serve the UI) and `make test`.
# torch is pinned on the same pip line as the project: an open torch requirement pulls a multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
# The real corpus, when ../shared sits beside the checkout; otherwise sources are fetched from their URLs.
MIRROR ?= $(wildcard ../shared/corpus)
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False

.PHONY: install run test lint chromium bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet torch==2.13.0 -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	INTERP_RAG_MIRROR=$(MIRROR) $(PY) app.py

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }

test: install chromium
	INTERP_RAG_TEST_MIRROR=$(MIRROR) $(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests bench scripts app.py
	$(VENV)/bin/ruff format --check src tests bench scripts app.py
