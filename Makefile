# dbbackup-operator — developer and deployment targets (kubebuilder's names where they apply).
SHELL := /usr/bin/env bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
IMG ?= ghcr.io/example/dbbackup-operator:latest
RUNNER_IMG ?= ghcr.io/example/dbbackup-runner:latest
ARGS ?=
KUBECTL ?= kubectl
CONTAINER_TOOL ?= docker
# The image config/manager renders; deploy and build-installer replace it with $(IMG).
MANIFEST_IMG := ghcr.io/example/dbbackup-operator:latest
ignore-not-found ?= false

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

.PHONY: install
install: $(BIN)/python ## Create .venv and install the project with its test extra.
	$(BIN)/python -m pip install --quiet -e '.[test,runner]'

.PHONY: test
test: ## Run the whole test suite (unit, emulator conformance, integration, runner).
	@test -x $(BIN)/pytest || $(MAKE) install
	$(BIN)/pytest

.PHONY: test-slow
test-slow: ## The heavy tests left out of `make test` (a 1 GiB dump under the memory bound, the differential fault scenario).
	@test -x $(BIN)/pytest || $(MAKE) install
	$(BIN)/pytest -m heavy -rP $(ARGS)

.PHONY: lint
lint: ## ruff check, ruff format --check, mypy --strict, hadolint on both Dockerfiles.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/hadolint runner/Dockerfile

.PHONY: fmt
fmt: ## Format and autofix with ruff.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: manifests
manifests: ## Generate the CRD and the backup-image contract (api/v1alpha1/CONTRACT.md, README) from api/v1alpha1.
	$(BIN)/python -m api.v1alpha1.crdgen --output config/crd/bases/dbbackup.io_databasebackups.yaml --restore-output config/crd/bases/dbbackup.io_databaserestores.yaml --contract api/v1alpha1/CONTRACT.md
	$(BIN)/python hack/sync_readme_contract.py

.PHONY: conformance
conformance: ## The server-facing emulator tests; KUBECONFIG=PATH runs them against that real API server instead.
	@test -x $(BIN)/pytest || $(MAKE) install
	DBBACKUP_CONFORMANCE_KUBECONFIG='$(KUBECONFIG)' $(BIN)/pytest tests/emulator $(ARGS)

.PHONY: bench
bench: ## Benchmarks at N = 1,000 and 10,000 (operator, floor, kopf peer); renders docs/performance.md.
	@$(BIN)/python -c "import kopf, matplotlib" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run --n 1000 --n 10000 --report --check $(ARGS)

.PHONY: bench-quick
bench-quick: ## Benchmarks at N = 1,000 in a few minutes; fails only on duplicates, missed runs or errors.
	@$(BIN)/python -c "import kopf, matplotlib" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run --n 1000 --idle 20 --out bench/results/quick.jsonl --check $(ARGS)

.PHONY: bench-runner
bench-runner: ## dbbackup-runner vs pg_dump | zstd on one PostgreSQL; renders its section of docs/performance.md.
	@test -x $(BIN)/dbbackup-runner || $(MAKE) install
	$(BIN)/python -m bench.runner_bench --report $(ARGS)

.PHONY: run
run: ## Run the operator against the current kubeconfig, or the built-in sandbox if no cluster answers.
	@test -x $(BIN)/dbbackup-operator || $(MAKE) install
	$(BIN)/dbbackup-operator run-local $(ARGS)

.PHONY: emulator
emulator: ## Serve the Kubernetes API emulator in the foreground (kubeconfig in ./emulator.kubeconfig).
	$(BIN)/dbbackup-operator emulator --write-kubeconfig emulator.kubeconfig $(ARGS)

##@ Deployment

# kubebuilder names these `install` / `uninstall`; here `make install` already means "create
# .venv and install the project" (the README and .ci/run rely on it), so the CRD targets
# carry a suffix.
.PHONY: install-crds
install-crds: ## Install the DatabaseBackup CRD into the cluster of the current kubeconfig.
	$(KUBECTL) apply -k config/crd

.PHONY: uninstall-crds
uninstall-crds: ## Remove the CRD (and with it every DatabaseBackup). ignore-not-found=true to ignore missing objects.
	$(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -k config/crd

# config/default rendered with the manager image replaced by $(IMG), without editing any
# tracked file (kubebuilder runs `kustomize edit set image`, which rewrites
# config/manager/kustomization.yaml). Fails if the manifest image is not found.
RENDER_DEFAULT = $(KUBECTL) kustomize config/default | awk -v from='$(MANIFEST_IMG)' -v to='$(IMG)' \
	'$$1 == "image:" && $$2 == from { $$0 = substr($$0, 1, index($$0, from) - 1) to; n++ } { print } \
	END { if (n != 1) { print "expected one manager image " from ", found " n > "/dev/stderr"; exit 1 } }'

.PHONY: deploy
deploy: ## Deploy the operator (CRD, RBAC, manager) with image IMG to the current cluster.
	set -o pipefail; $(RENDER_DEFAULT) | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: ## Remove everything deploy created. ignore-not-found=true to ignore missing objects.
	set -o pipefail; $(RENDER_DEFAULT) | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: build-installer
build-installer: ## Write dist/install.yaml: every manifest of config/default with image IMG.
	mkdir -p dist
	set -o pipefail; $(RENDER_DEFAULT) > dist/install.yaml.tmp
	mv dist/install.yaml.tmp dist/install.yaml

.PHONY: docker-build
docker-build: ## Build the operator image IMG.
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image IMG.
	$(CONTAINER_TOOL) push $(IMG)

.PHONY: docker-build-runner
docker-build-runner: ## Build the backup runner image RUNNER_IMG (context: the repository root).
	$(CONTAINER_TOOL) build -f runner/Dockerfile -t $(RUNNER_IMG) .

.PHONY: docker-push-runner
docker-push-runner: ## Push the backup runner image RUNNER_IMG.
	$(CONTAINER_TOOL) push $(RUNNER_IMG)
