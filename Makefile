# Courier CRM — `make run` serves the app, `make test` runs every check. Both start from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-steps lint translations compose-check clean-data help

help:
	@echo "make run    - set up everything and serve http://127.0.0.1:8000 (web + worker + beat)"
	@echo "make test   - set up everything and run lint, migration/deploy/compose checks and the test suite"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[embedded,dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m courier_crm.devserver run

test: $(STAMP)
	$(PY) -m courier_crm.devserver exec -- $(MAKE) --no-print-directory test-steps

# The steps of `make test`, run inside the environment devserver prepared (databases up,
# roles created). Not meant to be called directly.
test-steps: lint
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=courier_crm.settings.production $(PY) manage.py check --deploy --fail-level WARNING
	$(PY) -m courier_crm.compose_check docker-compose.yml
	$(PY) manage.py check_translations
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# Refresh locale/zh_Hans after changing UI strings (needs GNU gettext), then translate the
# new entries in locale/zh_Hans/LC_MESSAGES/django.po.
translations: $(STAMP)
	$(PY) -m courier_crm.devserver exec -- sh -c '$(PY) manage.py makemessages -l zh_Hans --no-obsolete -i ".venv/*" -i ".data/*" && $(PY) manage.py compilemessages -l zh_Hans'

clean-data:
	rm -rf .data
