# The commands a newcomer reaches for. Everything installs itself into .venv/ (and .venv-sam/ for the SAM CLI,
# which pins its own boto3 and click) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
# checkov (IaC security scanner) pins many packages of its own, so it lives apart too.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# samlocal (LocalStack's wrapper around the SAM CLI) imports the SAM CLI, so both live together.
SAMLOCAL_VENV := .venv-samlocal
SAMLOCAL_STAMP := $(SAMLOCAL_VENV)/.installed
# make build: the interpreter that compiles the package's bytecode (default: the template's runtime,
# python3.12), and arm64 or x86_64 instead of the template's architecture.
RUNTIME_PYTHON ?=
ARCHITECTURE ?=
PYTEST_ARGS ?=
# make test spreads the test files over pytest-xdist workers, one per core up to 4 (each worker starts its own
# local stacks); TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= auto
BENCH_ARGS ?=
# `make e2e` targets this deployed stack; unset, the suite starts the embedded local stack itself.
API_URL ?=

export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := help
.PHONY: help serve test lint openapi bench bench-fleet bench-engines build deploy localstack-deploy e2e clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[local,test,cli,lint]'
	touch $@

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli
	touch $@

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov
	touch $@

$(SAMLOCAL_STAMP):
	$(PYTHON) -m venv $(SAMLOCAL_VENV)
	$(SAMLOCAL_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli aws-sam-cli-local
	touch $@

serve: $(STAMP) ## Run the whole service locally on http://127.0.0.1:8000 (PORT, AWS_PORT override)
	$(PY) -m netremedy_local

test: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) ## Run every test (unit, integration on the local stack, corpus fidelity, template)
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

LINT_PATHS := functions infra client bench

lint: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) ## ruff, ruff format --check, mypy --strict; the template (cfn-lint, sam validate, checkov)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy --strict $(LINT_PATHS)
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region us-east-1
	$(CHECKOV) -f template.yaml --framework cloudformation --quiet --compact --skip-download

openapi: $(STAMP) ## Regenerate docs/openapi.json from the code
	$(PY) docs/generate_openapi.py

bench: $(STAMP) ## Floor, pipeline, peer, cost, cold start, hier_config 4 -> bench/results/latest.json (BENCH_ARGS=--quick)
	$(PY) bench/run.py $(BENCH_ARGS)

bench-fleet: $(STAMP) ## Fleet benchmark on the local stack: 10,000-device POST, 100,000-device S3 drop (BENCH_ARGS)
	$(PY) bench/fleet_bench.py $(BENCH_ARGS)

bench-engines: $(STAMP) ## hier_config 3.7.1 vs 4.x on every corpus pair -> bench/results/hc4_compare.json
	$(PY) bench/hc4_compare.py

# pip installs the runtime's wheels for the architecture (AWS's way of building on another OS), so unlike
# sam build no python3.12 is needed; the output has sam build's layout, which sam deploy reads. Lambda's code
# directory is read-only, so without .pyc files every cold start compiles the sources again: the bytecode
# needs the runtime's interpreter, and the build says so in one line when there is none.
build: $(STAMP) ## Lambda package for the template's runtime and architecture in .aws-sam/build (ARCHITECTURE=x86_64)
	$(PY) infra/build_lambda_package.py $(if $(RUNTIME_PYTHON),--runtime-python '$(RUNTIME_PYTHON)') \
		$(if $(ARCHITECTURE),--architecture '$(ARCHITECTURE)')

deploy: build $(SAM_STAMP) ## Deploy to AWS (sam deploy --guided asks for stack name, region and parameters)
	$(SAM) deploy --guided

# The script's PYTHON builds the package: .venv-samlocal's has what it needs (pip, PyYAML, aws-sam-translator),
# where make's PYTHON (which creates the venvs) may not.
localstack-deploy: $(SAMLOCAL_STAMP) ## Build and deploy template.yaml into a running LocalStack (samlocal); prints the API URL
	PATH="$(CURDIR)/$(SAMLOCAL_VENV)/bin:$$PATH" PYTHON="$(CURDIR)/$(SAMLOCAL_VENV)/bin/python" \
		bash infra/localstack/deploy.sh

e2e: $(STAMP) ## End-to-end HTTP suite against API_URL=... (unset: starts the embedded local stack)
	API_URL='$(API_URL)' $(PY) -m pytest tests/e2e $(PYTEST_ARGS)

clean: ## Remove virtualenvs, local state and build output
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(SAMLOCAL_VENV) .venv-peer .venv-hc4 .venv-lambda .local .aws-sam .pytest_cache
