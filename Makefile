# dbbackup-operator — developer and deployment targets (kubebuilder's names where they apply).
SHELL := /usr/bin/env bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
IMG ?= ghcr.io/example/dbbackup-operator:latest
ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

.PHONY: install
install: $(BIN)/python ## Create .venv and install the project with its test extra.
	$(BIN)/python -m pip install --quiet -e '.[test]'

.PHONY: test
test: ## Run the whole test suite (unit, emulator conformance, integration).
	@test -x $(BIN)/pytest || $(MAKE) install
	$(BIN)/pytest

.PHONY: lint
lint: ## ruff check, ruff format --check, mypy --strict.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: fmt
fmt: ## Format and autofix with ruff.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: run
run: ## Run the operator against the current kubeconfig, or the built-in sandbox if no cluster answers.
	@test -x $(BIN)/dbbackup-operator || $(MAKE) install
	$(BIN)/dbbackup-operator run-local $(ARGS)

.PHONY: emulator
emulator: ## Serve the Kubernetes API emulator in the foreground (kubeconfig in ./emulator.kubeconfig).
	$(BIN)/dbbackup-operator emulator --write-kubeconfig emulator.kubeconfig $(ARGS)
