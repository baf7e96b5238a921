# One set of commands for the README, CI and contributors.
# uv installs the locked environment (uv.lock) into .venv; it is fetched with pip when missing.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_COMPILE_BYTECODE := 1

.PHONY: setup browser demo test lint bench

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

demo: setup
	$(UV) run --frozen arrears demo --start 2025-05-27

# Chromium for the report's browser tests: the Debian package when root with apt-get; the tests
# skip elsewhere (.ci/chromium says why). CI runs it before the tests.
browser:
	@./.ci/chromium

# One worker per core (at most 4), a test module per worker: modules build their warehouses once.
test: setup
	$(UV) run --frozen pytest -n auto --maxprocesses 4 --dist loadfile

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

bench: setup
	$(UV) run --frozen python bench/run_all.py
