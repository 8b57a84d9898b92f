# Scrutiny: `make demo` sets everything up and serves the site; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Front-end: GOV.UK Frontend and the Sass compiler from npm, and the stylesheet built from them.
# The npm stamp lives inside node_modules, so deleting node_modules reinstalls it.
NPM_STAMP := node_modules/.installed
CSS := static/dist/scrutiny.css
# The browser tests drive Debian's Chromium; Playwright's own browser downloads are never used.
CHROMIUM := /usr/bin/chromium
# Reports are PDFs rendered with the system's fonts (DejaVu), never fetched at run time.
FONTS := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Large enough that the oversight report's fairness tables show the attendance detector's disparities
# unsuppressed (tests/reports/test_demo_oversight.py).
DEMO_SUBJECTS ?= 6000
DEMO_SEED ?= 1
# The demo's cases tell their subjects at once (production waits a day, so that a senior reviewer
# can defer the notice): the subject sign-in then has a notice to read. 24 keeps them pending.
DEMO_NOTICE_DELAY_HOURS ?= 0
PORT ?= 8000

.PHONY: demo test install lint typecheck check serve clean

# The environment is made once and never remade: .venv may be a link to one that several
# checkouts share. A changed pyproject.toml installs again into it.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

$(CSS): $(wildcard static/scss/*.scss) $(NPM_STAMP)
	npm run --silent build

install: $(STAMP) $(NPM_STAMP) $(CSS) $(FONTS)

# The binary is its own stamp: installed once, and again only if it goes missing. apt-get fails
# loudly if it cannot install it, and so does make test; the package lists are refreshed only
# when the first attempt fails (a fresh image has none).
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

$(FONTS):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-dejavu-core \
		|| { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-dejavu-core; }

# Development settings (DEBUG on, a generated SECRET_KEY) for every manage.py command run here;
# written once, readable by the owner only, never committed.
.env: | $(STAMP)
	$(BIN)/python -m demo.local_env $@

demo: export DEBUG = true
demo: install .env
	$(BIN)/python manage.py migrate --no-input
	SUBJECT_NOTICE_DELAY_HOURS=$(DEMO_NOTICE_DELAY_HOURS) $(BIN)/python manage.py seed_demo \
		--subjects $(DEMO_SUBJECTS) --seed $(DEMO_SEED) --run-detectors
	SUBJECT_NOTICE_DELAY_HOURS=$(DEMO_NOTICE_DELAY_HOURS) $(BIN)/python manage.py seed_demo_users
	@echo ""
	@echo "Scrutiny is starting on http://127.0.0.1:$(PORT)/"
	@echo "  API docs:   http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Sign in:    http://127.0.0.1:$(PORT)/sign-in/  (a user for each role; passwords and API tokens in .demo-users)"
	@echo "  Admin:      http://127.0.0.1:$(PORT)/admin/  (administrator1 in .demo-users, or the superuser 'admin' in .demo-credentials)"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Tests run with DEBUG off, as production does, under a throwaway key, and read no .env: a
# developer's settings file must not change what the tests see. They run in parallel, one worker
# a core (at most TEST_WORKERS_MAX), each on its own test database and each taking whole files;
# TEST_WORKERS=0 runs them in this process alone.
TEST_WORKERS ?= auto
TEST_WORKERS_MAX ?= 4
test: install $(CHROMIUM)
	DOTENV_PATH= SECRET_KEY=$${SECRET_KEY:-test-only-not-a-secret} DEBUG=false $(BIN)/pytest \
		-n $(TEST_WORKERS) --maxprocesses=$(TEST_WORKERS_MAX) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	DOTENV_PATH= SECRET_KEY=typecheck-only DEBUG=false $(BIN)/mypy .

check: lint typecheck test

clean:
	rm -rf $(VENV) node_modules .env static/dist scrutiny.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache

# A Celery worker, and Celery beat, for running with a broker (README: "Running a real worker"):
# set CELERY_BROKER_URL, in the environment or .env, e.g. redis://127.0.0.1:6379/0, and run each
# in a terminal of its own beside the site. Beat is a process of its own, one per deployment,
# never a worker's -B: with two workers, both would send everything it schedules.
.PHONY: worker beat
WITH_BROKER := import django; django.setup(); from django.conf import settings; \
	raise SystemExit(settings.CELERY_TASK_ALWAYS_EAGER and "Set CELERY_BROKER_URL (in the \
	environment or .env), e.g. redis://127.0.0.1:6379/0: without a broker, tasks run in the \
	process that queues them and a worker would have nothing to do.")
worker: export DJANGO_SETTINGS_MODULE = config.settings
worker: install .env
	@$(BIN)/python -c '$(WITH_BROKER)'
	$(BIN)/celery -A config worker --loglevel=info

beat: export DJANGO_SETTINGS_MODULE = config.settings
beat: install .env
	@$(BIN)/python -c '$(WITH_BROKER)'
	mkdir -p var
	$(BIN)/celery -A config beat --loglevel=info --schedule var/celerybeat-schedule
