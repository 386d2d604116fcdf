# Developer entry points of motcua. Everything runs from the virtualenv in .venv.
#   make run                      the local stack: Temporal dev server + Web UI, worker, API
#   make demo                     (with make run up) a dossier of letter 448's scenario
#   make test PYTEST_ARGS='-x -k r4'
#   make bench                    lifecycles/s through the API against bare Temporal
#   make bench-profile            the same, with the workers and the API sampled by py-spy
#   make bench-reports            the oversight reports over a seeded year of 1M dossiers (PostgreSQL)
#   make bench-pages              the pages (inbox, dossier page...) over 20,000 dossiers, p95
#   make bench-idle               memory, database sizes and creation rate as open dossiers grow
#   make bench-reads              GET /api/v1/dossiers over 10,000 dossiers: p95, SQL statements
#   make bench-replay             CPU to replay a recorded history (an evicted dossier's first action)
#   make chaos                    the crash harness: SIGKILLs while reminders fire, then invariants
#   make reset                    deletes the local data (dossiers, Temporal history, logs)
#   make openapi                  writes the served OpenAPI document to docs/openapi.json

VENV      := .venv
PYTHON    := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
PACKAGES  := domain workflows activities sources api service web db dev bench telemetry settings.py worker.py logs.py
DATA_DIR  := $(or $(MOTCUA_DATA_DIR),var)

.PHONY: install bytecode run demo test bench bench-reports chaos lint clean reset histories messages bench-pages openapi bench-idle bench-reads bench-profile bench-replay

install: $(INSTALLED) $(NODE_INSTALLED)

# The stamp makes `install` a no-op until pyproject.toml changes.
$(INSTALLED): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install -e '.[dev]'
	touch $@

# The pages' and /docs' front-end files (htmx, Swagger UI) and the tests' axe-core, exactly as
# package-lock.json pins them; served from node_modules, never from a CDN (web/assets.py). No
# install scripts: none is needed, and swagger-ui-dist's would report to an analytics service.
$(NODE_INSTALLED): package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# Bytecode written ahead: the workflow sandbox re-imports the workflow's modules for every new
# workflow, and compiles their source each time when no .pyc is there (PYTHONDONTWRITEBYTECODE).
bytecode: install
	$(PYTHON) -m dev.bytecode

run: install bytecode
	$(PYTHON) -m dev.run

# While `make run` is up: a dossier of letter 448's scenario, to look at in the Web UI.
demo: install
	$(PYTHON) -m dev.demo

# The served OpenAPI document, kept in the repository (tests/api/test_openapi_document_http.py).
openapi: install
	$(PYTHON) -m api.openapi_export

test: install
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# The lifecycle benchmark: full stack through HTTP against bare Temporal (BENCH_ARGS='--clients 4').
bench: install bytecode
	$(PYTHON) -m bench $(BENCH_ARGS)

# The same with the worker processes and the API process sampled by py-spy: the breakdown of where
# their time goes in bench/profiles/<date>-worker.txt and <date>-api.txt (docs/performance.md).
bench-profile: install bytecode
	$(PYTHON) -m bench --profile $(BENCH_ARGS)

# The report benchmark on PostgreSQL: seeds a year of dossiers once (BENCH_ARGS='--dossiers 100000').
bench-reports: install bytecode
	$(PYTHON) -m bench.reports $(BENCH_ARGS)

# The pages benchmark on PostgreSQL: inbox, dossier page and others over a seeded read model of
# 20,000 dossiers, p95 against issue 9's 150 ms (BENCH_ARGS='--dossiers 50000 --runs 200').
bench-pages: install bytecode
	$(PYTHON) -m bench.pages $(BENCH_ARGS)

# Replaying each recorded history of the current version through the worker's sandbox, against the
# SDK's plain one: CPU per replayed run and per event (BENCH_ARGS='--runs 100').
bench-replay: install bytecode
	$(PYTHON) -m bench.replay $(BENCH_ARGS)

# Idle capacity (issue 12): dossiers opened in steps, each waiting on a consultation's timer; per
# step memory, database sizes, creation rate; then a worker restart (BENCH_ARGS='--steps 10000,50000,100000').
bench-idle: install bytecode
	$(PYTHON) -m bench.idle $(BENCH_ARGS)

# The reads benchmark on PostgreSQL: the list of dossiers, p50/p95 and SQL statements per request
# for pages of 50 and 200 over 10,000 dossiers (BENCH_ARGS='--dossiers 50000 --runs 100').
bench-reads: install bytecode
	$(PYTHON) -m bench.reads $(BENCH_ARGS)

# The crash harness: 100 dossiers on a fresh PostgreSQL database, the worker SIGKILLed 4 times and
# the dev server once while reminders fire, then the invariants (CHAOS_ARGS='--dossiers 20').
chaos: install bytecode
	$(PYTHON) -m bench.chaos $(CHAOS_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(PACKAGES)

# The virtualenv and caches; never the data.
clean:
	rm -rf $(VENV) node_modules build *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The data of `make run`: the Temporal SQLite file, the app database and the logs.
reset:
	rm -rf $(DATA_DIR)

# Record histories of representative runs for the replay tests (never overwrites old ones).
histories: install
	$(PYTHON) -m tests.histories.record --version $(or $(VERSION),$(error set VERSION, e.g. make histories VERSION=v2))

# The pages' message catalogue: extract every _() / N_() of web/ into web/locale/messages.pot and
# merge it into each translation (web/locale/<lang>/LC_MESSAGES/messages.po); Vietnamese is the
# message ids themselves.
messages: install
	$(VENV)/bin/pybabel extract -F web/babel.cfg -k N_ --no-location --sort-output \
		--project motcua --copyright-holder motcua -o web/locale/messages.pot .
	$(VENV)/bin/pybabel update -i web/locale/messages.pot -d web/locale \
		--ignore-obsolete --no-fuzzy-matching
