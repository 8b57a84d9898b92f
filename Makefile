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
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
DEMO_SUBJECTS ?= 3000
DEMO_SEED ?= 1
PORT ?= 8000

.PHONY: demo test install lint typecheck check serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

$(CSS): $(wildcard static/scss/*.scss) $(NPM_STAMP)
	npm run --silent build

install: $(STAMP) $(NPM_STAMP) $(CSS)

# The binary is its own stamp: installed once, and again only if it goes missing. apt-get fails
# loudly if it cannot install it, and so does make test; the package lists are refreshed only
# when the first attempt fails (a fresh image has none).
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

demo: export DEBUG = true
demo: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --subjects $(DEMO_SUBJECTS) --seed $(DEMO_SEED) --run-detectors
	$(BIN)/python manage.py seed_demo_users
	@echo ""
	@echo "Scrutiny is starting on http://127.0.0.1:$(PORT)/"
	@echo "  API docs:   http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Sign in:    http://127.0.0.1:$(PORT)/sign-in/  (a user for each role; passwords in .demo-users)"
	@echo "  Admin:      http://127.0.0.1:$(PORT)/admin/  (sign in as 'admin'; the password is in .demo-credentials)"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Tests run with DEBUG off, as production does, under a throwaway key.
test: install $(CHROMIUM)
	SECRET_KEY=$${SECRET_KEY:-test-only-not-a-secret} DEBUG=false $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	SECRET_KEY=typecheck-only DEBUG=false $(BIN)/mypy .

check: lint typecheck test

clean:
	rm -rf $(VENV) node_modules static/dist scrutiny.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache
