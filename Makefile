# portrait — two commands: `make demo` and `make test`. Everything installs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
UV      := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install demo test lint format ui stop clean bench quality requirements \
        cluster cluster-down docker-config docker-build docker-up docker-down

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

install: $(VENV)/.installed  ## create .venv from uv.lock (bytecode compiled), pgaudit for the warehouse
	@$(BIN)/portrait setup system

demo: install  ## start the warehouse, simulate a company, run portrait_train, portrait_daily and portrait_campaigns, print a summary
	$(BIN)/portrait demo

test: install  ## the whole suite against throwaway PostgreSQL clusters
	$(BIN)/pytest

lint: install  ## ruff, the import layers (lint-imports), sqlfluff and the secret scan
	git ls-files -z --cached --others --exclude-standard \
	  | xargs -0 $(BIN)/detect-secrets-hook --baseline .secrets.baseline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	cd dbt_project && ../$(BIN)/sqlfluff lint models --processes 2

format: install  ## fix what ruff and sqlfluff can
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cd dbt_project && ../$(BIN)/sqlfluff fix models --processes 2

ui: install  ## the profile panel and API, Airflow UI, MLflow UI and dbt docs on 127.0.0.1 (prints URLs and demo sign-ins, never a password)
	$(BIN)/portrait ui up

stop:  ## stop the UIs, the cluster and the local warehouse
	-@[ -x $(BIN)/portrait ] && $(BIN)/portrait ui down
	-@[ -x $(BIN)/portrait ] && $(BIN)/portrait cluster down
	-@[ -x $(BIN)/portrait ] && $(BIN)/portrait warehouse down

cluster: install  ## the DAGs on Airflow's CeleryExecutor: Redis, two workers, Postgres metadata, an MLflow server (URLs printed)
	$(BIN)/portrait cluster up

cluster-down:  ## stop every process make cluster started (by its pid files)
	@$(BIN)/portrait cluster down

bench: install  ## run bench/ and write reports/bench.json
	$(UV) sync --frozen --compile-bytecode --group bench
	$(BIN)/python -m bench

quality: install  ## build the identity and model quality worlds (~15 min the first time) and judge them, and the last demo's CIDs and models, against the simulator's truth: reports/quality.json and .md
	$(UV) sync --frozen --compile-bytecode --group bench
	$(BIN)/portrait quality --truth .local/data/truth --worlds

requirements:  ## re-export requirements.txt from uv.lock
	$(UV) export --frozen --no-hashes --no-dev --no-emit-project -o requirements.txt >/dev/null

# ---- team deployment (docker/compose.yaml; docker/README.md) ----------------------------------
COMPOSE := docker compose -f docker/compose.yaml --env-file docker/.env

docker-config: install  ## check docker/ without an engine: compose spec schema, hadolint, the deployment's rules
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml
	$(BIN)/hadolint --config docker/.hadolint.yaml docker/Dockerfile
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/test_docker_compose.py tests/unit/test_docker_image.py
	@if docker compose version >/dev/null 2>&1 && [ -f docker/.env ]; then $(COMPOSE) config -q && echo "docker compose config: ok"; \
	  else echo "docker compose config: skipped (needs the Compose plugin and docker/.env)"; fi

docker-build: docker/.env  ## build the team image (portrait-airflow) from docker/Dockerfile
	$(COMPOSE) build

docker-up: docker/.env  ## start the team deployment (Airflow :8080, MLflow :5000, profile :8000 on 127.0.0.1)
	$(COMPOSE) up -d --wait

docker-down:  ## stop the team deployment (volumes are kept; `docker compose ... down -v` drops them)
	$(COMPOSE) down

docker/.env:
	@echo "docker/.env is missing: cp docker/.env.example docker/.env and fill in every value" >&2; exit 1

clean: stop  ## remove .local, reports and build artefacts (keeps .venv)
	rm -rf .local reports dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
